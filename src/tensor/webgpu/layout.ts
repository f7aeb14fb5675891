/**
 * webgpu launchers: layout ops. Transpose, slice, sliceBackward, expand and concat
 * build the same `CopyPlan` as the cpu reference (../cpu/layoutPlan.ts) and run it with
 * ./copyStrided.ts; reshape shares the buffer through a refcounted storage view. Gather
 * and its backward are in ./gather.ts and re-exported here for the backend's op table.
 */
import type { GpuContext } from '../../gpu/device.js';
import { fmtDims } from '../shape.js';
import { Tensor, sizeOf } from '../tensor.js';
import {
  checkReshape, concatPlans, expandPlan, sliceBackwardPlan, slicePlan, sliceRanges, transposePlan, type CopyPlan,
} from '../cpu/layoutPlan.js';
import { out } from './common.js';
import { copyStrided, deviceInput, elementsPerWord } from './copyStrided.js';
import { fillZero } from './elementwise.js';
import { gpuStorage, uploadHost } from './storage.js';

export { gather, gatherBackward } from './gather.js';

/** A new device tensor of the plan's box dims, filled by the plan from x. */
function copyOut(ctx: GpuContext, x: Tensor, plan: CopyPlan, what: string): Tensor {
  const { buffer, dtype } = deviceInput(ctx, x, what);
  const y = out(ctx, plan.dims, dtype);
  copyStrided(ctx, plan, buffer, gpuStorage(y).buffer, dtype, what);
  return y;
}

export function transpose(ctx: GpuContext, x: Tensor, perm: readonly number[]): Tensor {
  return copyOut(ctx, x, transposePlan(x.dims, perm), 'transpose');
}

export function slice(
  ctx: GpuContext, x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[],
): Tensor {
  return copyOut(ctx, x, slicePlan(x.dims, sliceRanges(x.dims, starts, ends, axes, steps, 'slice')), 'slice');
}

export function expand(ctx: GpuContext, x: Tensor, dims: readonly number[]): Tensor {
  return copyOut(ctx, x, expandPlan(x.dims, dims), 'expand');
}

/** Zeros of xDims, then dy copied into the sliced region (the slice's source strides). */
export function sliceBackward(
  ctx: GpuContext, dy: Tensor, xDims: readonly number[], starts: readonly number[], ends: readonly number[],
  axes: readonly number[], steps?: readonly number[],
): Tensor {
  const plan = sliceBackwardPlan(xDims, sliceRanges(xDims, starts, ends, axes, steps, 'sliceBackward'), dy.dims, 'sliceBackward');
  const { buffer, dtype } = deviceInput(ctx, dy, 'sliceBackward dy');
  if (elementsPerWord(dtype) > 1) throw new Error(`sliceBackward: dy is ${dtype} ${fmtDims(dy.dims)}; webgpu takes 4-byte dtypes (float32)`);
  const dx = out(ctx, xDims, dtype);
  // A slice as large as x covers all of it (steps ±1): nothing is left to zero.
  if (sizeOf(dy.dims) < sizeOf(xDims)) fillZero(ctx, dx);
  copyStrided(ctx, plan, buffer, gpuStorage(dx).buffer, dtype, 'sliceBackward');
  return dx;
}

/** One copy per non-empty input into its region of the output. */
export function concat(ctx: GpuContext, xs: readonly Tensor[], axis: number): Tensor {
  const { outDims, plans } = concatPlans(xs, axis);
  if (elementsPerWord(xs[0].dtype) > 1 && xs.filter((x) => x.size > 0).length > 1) {
    // Regions of different inputs can share a packed word, which one launch per input would race on.
    throw new Error(`concat: ${xs[0].dtype} inputs (${xs.map((x) => fmtDims(x.dims)).join(', ')}) are packed several per word on webgpu; cast to float32 first`);
  }
  const inputs = xs.map((x, i) => deviceInput(ctx, x, `concat input ${i}`));
  const dtype = inputs[0].dtype;
  const y = out(ctx, outDims, dtype);
  const yb = gpuStorage(y).buffer;
  xs.forEach((x, i) => {
    if (x.size > 0) copyStrided(ctx, plans[i], inputs[i].buffer, yb, dtype, `concat input ${i}`);
  });
  return y;
}

/**
 * Same bytes, new dims. A device tensor gets a view on its buffer (no copy); the buffer
 * lives until both it and the view are disposed. A host tensor is uploaded once.
 */
export function reshape(ctx: GpuContext, x: Tensor, dims: readonly number[]): Tensor {
  checkReshape(x.dims, dims);
  if (x.location === 'webgpu') return Tensor.fromStorage(x.dtype, dims, gpuStorage(x).view());
  if (x.location !== 'cpu') throw new Error(`reshape: ${x} must be read back to the host before use on webgpu`);
  return uploadHost(ctx, new Tensor(x.dtype, x.hostData(), dims));
}
