/**
 * cpu reference: layout ops on host tensors of any dtype. Transpose, slice,
 * sliceBackward, expand and concat each build a `CopyPlan` (./layoutPlan.ts, shared
 * with the webgpu launchers) and run it here over the host arrays; int4 is unpacked to
 * one value per slot around the copy. Reshape shares the host array. Gather and its
 * backward are in ./gather.ts and re-exported here for the backend's op table.
 */
import { allocHost, packInt4, sizeOf, Tensor, unpackInt4, type DType, type HostData } from '../tensor.js';
import { toHost } from './common.js';
import {
  checkReshape, coalesce, concatPlans, expandPlan, sliceBackwardPlan, slicePlan, sliceRanges, transposePlan, type CopyPlan,
} from './layoutPlan.js';

export { gather, gatherBackward } from './gather.js';

/** One value per slot: the host array itself, or int4 nibbles unpacked (raw 0..15). */
type Elements = { [i: number]: number | bigint; readonly length: number };

function elementsOf(t: Tensor): Elements {
  const data = toHost(t).hostData();
  return t.dtype === 'int4' ? Uint8Array.from(unpackInt4(data as Uint8Array, t.size, false)) : data;
}

function newElements(dtype: DType, n: number): Elements {
  return dtype === 'int4' ? new Uint8Array(n) : allocHost(dtype, n);
}

function fromElements(dtype: DType, e: Elements, dims: readonly number[]): Tensor {
  const data = dtype === 'int4' ? packInt4(Array.from(e as Uint8Array)) : (e as HostData);
  return new Tensor(dtype, data, dims);
}

/** Runs a copy plan: an odometer over the outer dims, a tight loop over the innermost. */
export function runCopy(plan: CopyPlan, src: Elements, dst: Elements): void {
  if (sizeOf(plan.dims) === 0) return;
  const { dims, src: s, dst: d } = coalesce(plan);
  const r = dims.length;
  const inner = dims[r - 1];
  const [si, di] = [s.strides[r - 1], d.strides[r - 1]];
  const at = new Array<number>(r - 1).fill(0);
  let sp = s.offset;
  let dp = d.offset;
  for (let row = sizeOf(dims) / inner; row > 0; row--) {
    for (let k = 0; k < inner; k++) dst[dp + k * di] = src[sp + k * si];
    for (let a = r - 2; a >= 0; a--) {
      sp += s.strides[a];
      dp += d.strides[a];
      if (++at[a] < dims[a]) break;
      sp -= s.strides[a] * dims[a];
      dp -= d.strides[a] * dims[a];
      at[a] = 0;
    }
  }
}

/** A new tensor of the plan's box dims, filled by the plan from x. */
function copyOut(x: Tensor, plan: CopyPlan): Tensor {
  const dst = newElements(x.dtype, sizeOf(plan.dims));
  runCopy(plan, elementsOf(x), dst);
  return fromElements(x.dtype, dst, plan.dims);
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  return copyOut(x, transposePlan(x.dims, perm));
}

export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tensor {
  return copyOut(x, slicePlan(x.dims, sliceRanges(x.dims, starts, ends, axes, steps, 'slice')));
}

export function sliceBackward(
  dy: Tensor, xDims: readonly number[], starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[],
): Tensor {
  const plan = sliceBackwardPlan(xDims, sliceRanges(xDims, starts, ends, axes, steps, 'sliceBackward'), dy.dims, 'sliceBackward');
  const dx = newElements(dy.dtype, sizeOf(xDims)); // zeros outside the sliced region
  runCopy(plan, elementsOf(dy), dx);
  return fromElements(dy.dtype, dx, xDims);
}

export function expand(x: Tensor, dims: readonly number[]): Tensor {
  return copyOut(x, expandPlan(x.dims, dims));
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  const { outDims, plans } = concatPlans(xs, axis);
  const dtype = xs[0].dtype;
  const y = newElements(dtype, sizeOf(outDims));
  xs.forEach((x, i) => runCopy(plans[i], elementsOf(x), y));
  return fromElements(dtype, y, outDims);
}

/** Same host array, new dims: no copy. */
export function reshape(x: Tensor, dims: readonly number[]): Tensor {
  checkReshape(x.dims, dims);
  return new Tensor(x.dtype, toHost(x).hostData(), dims);
}
