/**
 * cpu reference: ONNX ScatterND (opset 16 reductions 'none' and 'add'). The output is a
 * copy of data; update m is the slice updates[m, ...] of S = Π data.dims[k:] elements,
 * written at (or, with 'add', added to) the slice of data addressed by the k-index
 * indices[m, :]. Updates are applied in order m = 0, 1, …: with 'none' the last of
 * several updates to one slice wins (ONNX leaves duplicates undefined; onnxruntime and
 * this reference both apply them in order), with 'add' they are summed in order.
 */
import { Tensor, type DType } from '../tensor.js';
import { fmtDims, stridesOf } from '../shape.js';
import { toHost } from './common.js';

export interface ScatterGeometry {
  /** Index depth: indices is (..., k). */
  k: number;
  /** Number of updates: Π indices.dims[:-1]. */
  m: number;
  /** Elements per slice: Π data.dims[k:]. */
  slice: number;
  /** data.dims[:k] and their strides counted in slices. */
  dims: number[];
  strides: number[];
}

const SCATTER_DTYPES: readonly DType[] = ['float32', 'int32'];

/** Checks dtypes and shapes of data, indices, updates; shared with webgpu. */
export function scatterGeometry(data: Tensor, indices: Tensor, updates: Tensor, reduction: string, what = 'scatterND'): ScatterGeometry {
  if (reduction !== 'none' && reduction !== 'add') throw new Error(`${what}: reduction '${reduction}' is not supported ('none' or 'add')`);
  if (!SCATTER_DTYPES.includes(data.dtype)) throw new Error(`${what}: data must be float32 or int32, got ${data.dtype} ${fmtDims(data.dims)}`);
  if (updates.dtype !== data.dtype) {
    throw new Error(`${what}: updates must have data's dtype ${data.dtype}, got ${updates.dtype} ${fmtDims(updates.dims)}`);
  }
  if (indices.dtype !== 'int32' && indices.dtype !== 'int64') {
    throw new Error(`${what}: indices must be int32 (or int64), got ${indices.dtype} ${fmtDims(indices.dims)}`);
  }
  const k = indices.dims[indices.rank - 1];
  if (indices.rank < 1 || k < 1 || k > data.rank) {
    throw new Error(`${what}: indices ${fmtDims(indices.dims)} must be (..., k) with 1 ≤ k ≤ rank of data ${fmtDims(data.dims)}`);
  }
  const want = [...indices.dims.slice(0, -1), ...data.dims.slice(k)];
  if (want.length !== updates.rank || want.some((d, i) => d !== updates.dims[i])) {
    throw new Error(`${what}: updates ${fmtDims(updates.dims)} must be ${fmtDims(want)} (indices.dims[:-1] + data.dims[${k}:])`);
  }
  const dims = data.dims.slice(0, k);
  return {
    k,
    m: indices.dims.slice(0, -1).reduce((p, d) => p * d, 1),
    slice: data.dims.slice(k).reduce((p, d) => p * d, 1),
    dims,
    strides: stridesOf(dims),
  };
}

/** Host index values as numbers (int64 narrowed). */
export function indexValues(indices: Tensor): Int32Array | number[] {
  const d = toHost(indices).hostData();
  return d instanceof Int32Array ? d : Array.from(d as BigInt64Array, Number);
}

/** Slice number addressed by update m; negative indices wrap; throws when out of range. */
export function slotOf(g: ScatterGeometry, idx: ArrayLike<number>, m: number, what = 'scatterND'): number {
  let slot = 0;
  for (let j = 0; j < g.k; j++) {
    const raw = idx[m * g.k + j];
    const v = raw < 0 ? raw + g.dims[j] : raw;
    if (!(v >= 0 && v < g.dims[j])) {
      throw new Error(`${what}: index ${raw} (update ${m}, position ${j}) is outside [-${g.dims[j]}, ${g.dims[j]})`);
    }
    slot += v * g.strides[j];
  }
  return slot;
}

export function scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction: 'none' | 'add' = 'none'): Tensor {
  const g = scatterGeometry(data, indices, updates, reduction);
  const idx = indexValues(indices);
  const src = toHost(updates).hostData<Float32Array | Int32Array>();
  const isInt = data.dtype === 'int32';
  const out = toHost(data).hostData<Float32Array | Int32Array>().slice();
  if (reduction === 'none') {
    for (let m = 0; m < g.m; m++) out.set(src.subarray(m * g.slice, (m + 1) * g.slice), slotOf(g, idx, m) * g.slice);
    return new Tensor(data.dtype, out, data.dims);
  }
  // 'add': float64 running sums per element, in update order, rounded once on store.
  const acc = Float64Array.from(out);
  for (let m = 0; m < g.m; m++) {
    const base = slotOf(g, idx, m) * g.slice;
    for (let r = 0; r < g.slice; r++) acc[base + r] = isInt ? (acc[base + r] + src[m * g.slice + r]) | 0 : acc[base + r] + src[m * g.slice + r];
  }
  out.set(acc);
  return new Tensor(data.dtype, out, data.dims);
}
