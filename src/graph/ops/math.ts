/** Device ops: matmuls, elementwise maths, softmax, normalization, reductions. */
import type { BinaryOp, ReduceOp, UnaryOp } from '../../tensor/backend.js';
import { normalizeAxis } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { onnxDType } from '../fold/hostOps.js';
import { attrFloat, attrInt, attrInts, hostInput, input, sameAs, scoped, type DeviceOp, type OpCall } from './types.js';

export const matMul: DeviceOp = (c) => [c.backend.matmul(input(c, 0, 'A'), input(c, 1, 'B'))];

/** Gemm: alpha·A'·B' + beta·C; a 1-D C with beta 1 rides the matmul's bias epilogue. */
export const gemm: DeviceOp = scoped((c, own) => {
  const a = input(c, 0, 'A');
  const b = input(c, 1, 'B');
  const bias = c.inputs[2];
  const alpha = attrFloat(c, 'alpha', 1);
  const beta = attrFloat(c, 'beta', 1);
  const opts = { transA: attrInt(c, 'transA', 0) === 1, transB: attrInt(c, 'transB', 0) === 1, alpha };
  const fused = bias && beta === 1 && bias.rank === 1;
  const y = c.backend.matmul(a, b, fused ? { ...opts, bias } : opts);
  if (!bias || fused || beta === 0) return [y];
  const scaled = beta === 1 ? bias : own(c.backend.binary('mul', bias, scalar(beta)));
  return [c.backend.binary('add', own(y), scaled)];
});

const scalar = (v: number) => new Tensor('float32', [v], []);

export const unaryOp = (op: UnaryOp): DeviceOp => (c) => [c.backend.unary(op, input(c, 0, 'X'))];

export const binaryOp = (op: BinaryOp): DeviceOp => (c) => [c.backend.binary(op, input(c, 0, 'A'), input(c, 1, 'B'))];

/**
 * Max / Min take 1..N inputs (broadcast together); folded pairwise. Gradient rules cover
 * the two-input form; a variadic node on the gradient path is refused there.
 */
export const variadicOp = (op: 'max' | 'min'): DeviceOp => (c) => {
  const xs = c.inputs.filter((t): t is Tensor => !!t);
  if (xs.length === 0) throw new Error(`${c.where}: needs at least one input`);
  if (xs.length === 1) return [sameAs(c.backend, xs[0])];
  let acc = c.backend.binary(op, xs[0], xs[1]);
  for (const x of xs.slice(2)) {
    const next = c.backend.binary(op, acc, x);
    acc.dispose();
    acc = next;
  }
  return [acc];
};

export const where: DeviceOp = (c) => [c.backend.where(input(c, 0, 'condition'), input(c, 1, 'X'), input(c, 2, 'Y'))];

export const cast: DeviceOp = (c) => {
  const to = onnxDType(attrInt(c, 'to', 1), `${c.where} 'to'`);
  const x = input(c, 0);
  return [x.dtype === to ? sameAs(c.backend, x) : c.backend.cast(x, to)];
};

/** Softmax over `axis`; non-last axes go through a transpose (exporters use the last). */
export const softmax: DeviceOp = scoped((c, own) => {
  const x = input(c, 0);
  const axis = normalizeAxis(attrInt(c, 'axis', c.opset >= 13 ? -1 : 1), x.rank, `${c.where} axis`);
  if (axis === x.rank - 1) return [c.backend.softmax(x)];
  if (c.opset < 13) throw new Error(`${c.where}: opset ${c.opset} Softmax on axis ${axis} of a rank-${x.rank} tensor (2-D coercion) is not supported`);
  const perm = [...Array(x.rank).keys()];
  [perm[axis], perm[x.rank - 1]] = [perm[x.rank - 1], perm[axis]];
  const y = own(c.backend.softmax(own(c.backend.transpose(x, perm))));
  return [c.backend.transpose(y, perm)];
});

/** LayerNormalization (opset 17) normalizing the trailing dims from `axis`. */
export const layerNormalization: DeviceOp = scoped((c, own) => {
  const x = input(c, 0, 'X');
  const axis = normalizeAxis(attrInt(c, 'axis', -1), x.rank, `${c.where} axis`);
  const eps = attrFloat(c, 'epsilon', 1e-5);
  const cols = x.dims.slice(axis).reduce((p, q) => p * q, 1);
  const flat = (t: Tensor | undefined) => (t && t.rank !== 1 ? own(c.backend.reshape(t, [cols])) : t);
  const x2 = axis === x.rank - 1 ? x : own(c.backend.reshape(x, [...x.dims.slice(0, axis), cols]));
  const r = c.backend.layerNorm(x2, flat(input(c, 1, 'Scale'))!, flat(c.inputs[2]), eps);
  const y = x2 === x ? r.y : c.backend.reshape(own(r.y), x.dims);
  const statDims = [...x.dims.slice(0, axis), ...x.dims.slice(axis).map(() => 1)];
  // (…, 1, …, 1) views of the (rows) statistics; the views alone hold them.
  return [y, r.mean && c.backend.reshape(own(r.mean), statDims), c.backend.reshape(own(r.invStd), statDims)];
});

/** ReduceSum/Mean/Max: axes from the attribute, or input 1 (ReduceSum ≥ 13, the rest ≥ 18). */
/**
 * The axes a Reduce* node reduces: the attribute, or host input 1 from opset
 * `axesInputFrom`; none listed means all, or 'noop' (an identity) with noop_with_empty_axes.
 */
export function reduceAxes(c: OpCall, rank: number, axesInputFrom: number): number[] | 'noop' {
  const listed = c.opset >= axesInputFrom ? hostInput(c, 1, 'axes')?.values : attrInts(c, 'axes');
  if (listed && listed.length > 0) return listed.map((a) => normalizeAxis(a, rank, `${c.where} axes`));
  return attrInt(c, 'noop_with_empty_axes', 0) === 1 ? 'noop' : [...Array(rank).keys()];
}

export const reduceOp = (op: ReduceOp, axesInputFrom: number): DeviceOp => (c) => {
  const x = input(c, 0, 'data');
  const axes = reduceAxes(c, x.rank, axesInputFrom);
  if (axes === 'noop') return [sameAs(c.backend, x)];
  return [c.backend.reduce(op, x, axes, attrInt(c, 'keepdims', 1) === 1)];
};

export const gelu: DeviceOp = (c) => {
  const approx = c.attrs.approximate === 'tanh';
  return [c.backend.unary(approx ? 'gelu_tanh' : 'gelu', input(c, 0))];
};

/** Keeps a wholly-ignored op visible in profiles: x → x. */
export const identity: DeviceOp = (c) => [sameAs(c.backend, input(c, 0))];
