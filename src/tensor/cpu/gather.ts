/**
 * cpu reference: ONNX Gather along any axis (negative indices wrap, out-of-range ones
 * throw) and its backward, the scatter-add of dy into zeros, summed in float64 in
 * ascending index position so the result does not depend on scheduling.
 */
import { fmtDims } from '../shape.js';
import { allocHost, checkDims, Tensor, type HostData } from '../tensor.js';
import { f32, i32, toHost } from './common.js';
import { gatherGeometry, wrapIndices } from './layoutPlan.js';

/** out[o, j, k] = data[o, idx[j], k] with data viewed as (outer, len, inner); any dtype but int4. */
export function gather(data: Tensor, indices: Tensor, axis: number): Tensor {
  if (data.dtype === 'int4') throw new Error(`gather: int4 data ${fmtDims(data.dims)} is not supported; dequantize it first`);
  const g = gatherGeometry(data.dims, indices.dims, axis, 'gather');
  const rows = wrapIndices(i32(indices, 'gather indices'), g.len, 'gather', data.dims, g.axis);
  const src = toHost(data).hostData() as HostData & { [i: number]: number | bigint };
  const out = allocHost(data.dtype, g.outer * rows.length * g.inner) as typeof src;
  let p = 0;
  for (let o = 0; o < g.outer; o++) {
    for (const r of rows) {
      const base = (o * g.len + r) * g.inner;
      for (let k = 0; k < g.inner; k++) out[p++] = src[base + k];
    }
  }
  return new Tensor(data.dtype, out, g.outDims);
}

/** dx (dataDims) = Σ over positions j with idx[j] = r of dy[o, j, k]; dy must be gather's output shape. */
export function gatherBackward(indices: Tensor, dy: Tensor, dataDims: readonly number[], axis: number): Tensor {
  checkDims(dataDims, 'gatherBackward dataDims');
  const g = gatherGeometry(dataDims, indices.dims, axis, 'gatherBackward');
  checkGatherDy(g.outDims, dy.dims, indices.dims, dataDims);
  const rows = wrapIndices(i32(indices, 'gatherBackward indices'), g.len, 'gatherBackward', dataDims, g.axis);
  const gy = f32(dy, 'gatherBackward dy');
  const acc = new Float64Array(g.outer * g.len * g.inner);
  let p = 0;
  for (let o = 0; o < g.outer; o++) {
    for (const r of rows) {
      const base = (o * g.len + r) * g.inner;
      for (let k = 0; k < g.inner; k++) acc[base + k] += gy[p++];
    }
  }
  return new Tensor('float32', Float32Array.from(acc), dataDims);
}

export function checkGatherDy(outDims: readonly number[], dyDims: readonly number[], idxDims: readonly number[], dataDims: readonly number[]): void {
  if (outDims.length !== dyDims.length || outDims.some((d, i) => d !== dyDims[i])) {
    throw new Error(
      `gatherBackward: dy is ${fmtDims(dyDims)}, expected ${fmtDims(outDims)} (gather of data ${fmtDims(dataDims)} by indices ${fmtDims(idxDims)})`,
    );
  }
}
