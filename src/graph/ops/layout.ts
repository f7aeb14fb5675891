/** Device ops that move data: reshape family, transpose, concat, slice, split, expand, gather. */
import { normalizeAxis } from '../../tensor/shape.js';
import { reshapeDims } from '../fold/hostOps.js';
import { attrInt, attrInts, hostInput, input, int32Indices, scoped, type DeviceOp, type OpCall } from './types.js';

export const reshape: DeviceOp = (c) => {
  const x = input(c, 0, 'data');
  const shape = hostInput(c, 1, 'shape')!.values;
  return [c.backend.reshape(x, reshapeDims(x.dims, shape, attrInt(c, 'allowzero', 0) === 1))];
};

function axesOf(c: OpCall): number[] | undefined {
  return c.opset >= 13 ? hostInput(c, 1, 'axes')?.values : attrInts(c, 'axes');
}

export const unsqueeze: DeviceOp = (c) => {
  const x = input(c, 0);
  const axes = axesOf(c);
  if (!axes) throw new Error(`${c.where}: axes are required`);
  const rank = x.rank + axes.length;
  const dims = [...x.dims];
  for (const a of axes.map((v) => normalizeAxis(v, rank, `${c.where} axes`)).sort((p, q) => p - q)) dims.splice(a, 0, 1);
  return [c.backend.reshape(x, dims)];
};

export const squeeze: DeviceOp = (c) => {
  const x = input(c, 0);
  const axes = axesOf(c)?.map((a) => normalizeAxis(a, x.rank, `${c.where} axes`));
  const drop = axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) if (x.dims[a] !== 1) throw new Error(`${c.where}: axis ${a} has size ${x.dims[a]}, not 1`);
  return [c.backend.reshape(x, x.dims.filter((_, i) => !drop.includes(i)))];
};

export const flatten: DeviceOp = (c) => {
  const x = input(c, 0);
  const axis = attrInt(c, 'axis', 1);
  const a = axis < 0 ? axis + x.rank : axis;
  const outer = x.dims.slice(0, a).reduce((p, q) => p * q, 1);
  return [c.backend.reshape(x, [outer, x.size / Math.max(outer, 1)])];
};

export const transpose: DeviceOp = (c) => {
  const x = input(c, 0);
  const perm = attrInts(c, 'perm') ?? [...Array(x.rank).keys()].reverse();
  return [c.backend.transpose(x, perm)];
};

export const concat: DeviceOp = (c) => {
  const xs = c.inputs.filter((t) => t !== undefined);
  return [c.backend.concat(xs, normalizeAxis(attrInt(c, 'axis', 0), xs[0].rank, `${c.where} axis`))];
};

/** Slice's starts / ends / axes / steps: inputs 1..4 from opset 10, attributes before (no steps then). */
export function sliceArgs(c: OpCall, rank: number) {
  const get = (i: number, name: string) => (c.opset >= 10 ? hostInput(c, i, name)?.values : attrInts(c, name));
  const starts = get(1, 'starts')!;
  const ends = get(2, 'ends')!;
  const axes = (get(3, 'axes') ?? starts.map((_, i) => i)).map((a) => normalizeAxis(a, rank, `${c.where} axes`));
  const steps = (c.opset >= 10 ? hostInput(c, 4, 'steps')?.values : undefined) ?? starts.map(() => 1);
  return { starts, ends, axes, steps };
}

export const slice: DeviceOp = (c) => {
  const x = input(c, 0, 'data');
  const { starts, ends, axes, steps } = sliceArgs(c, x.rank);
  // The backends apply ONNX's clamping (negatives, INT64_MAX ends, negative steps) themselves.
  return [c.backend.slice(x, starts, ends, axes, steps)];
};

/**
 * Split's part sizes: the `split` input (opset 13) or attribute, else equal parts of
 * ⌈len / parts⌉; parts past the end come out 0 (empty outputs).
 */
export function splitSizes(c: OpCall, len: number): number[] {
  const given = c.opset >= 13 ? hostInput(c, 1, 'split')?.values : attrInts(c, 'split');
  const parts = attrInt(c, 'num_outputs', 0) || c.outputCount;
  const chunk = Math.ceil(len / parts);
  return given ?? Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, len - i * chunk)));
}

/** Split into equal parts, or by the `split` sizes (an input from opset 13, an attribute before). */
export const split: DeviceOp = (c) => {
  const x = input(c, 0);
  const axis = normalizeAxis(attrInt(c, 'axis', 0), x.rank, `${c.where} axis`);
  let at = 0;
  return splitSizes(c, x.dims[axis]).map((n) => {
    const y = c.backend.slice(x, [at], [at + n], [axis]);
    at += n;
    return y;
  });
};

export const expand: DeviceOp = (c) => [c.backend.expand(input(c, 0), hostInput(c, 1, 'shape')!.values)];

export const gather: DeviceOp = (c) => {
  const data = input(c, 0, 'data');
  const idx = int32Indices(c, input(c, 1, 'indices'));
  return [c.backend.gather(data, idx, attrInt(c, 'axis', 0))];
};

/** Tile as expand: (d0, d1) → (1, d0, 1, d1) expanded to (r0, d0, r1, d1) → (r0·d0, r1·d1). */
export const tile: DeviceOp = scoped((c, own) => {
  const x = input(c, 0);
  const reps = hostInput(c, 1, 'repeats')!.values;
  if (reps.length !== x.rank) throw new Error(`${c.where}: repeats has ${reps.length} entries for a rank-${x.rank} input`);
  const spread = own(c.backend.reshape(x, x.dims.flatMap((d) => [1, d])));
  const big = own(c.backend.expand(spread, x.dims.flatMap((d, i) => [reps[i], d])));
  return [c.backend.reshape(big, x.dims.map((d, i) => d * reps[i]))];
});
