/**
 * Geometry of the layout ops, shared by the cpu reference and the webgpu launchers.
 * Every copy-like op (transpose, slice, sliceBackward, expand, concat) becomes a
 * `CopyPlan`: a box of dims walked in row-major order, where box coordinate c reads
 * source element `src.offset + Σ c·src.strides` and writes destination element
 * `dst.offset + Σ c·dst.strides`. Strides are signed (negative Slice steps) and may be
 * 0 (Expand's broadcast dims). Both backends validate through these functions, so their
 * errors read the same.
 */
import { broadcastDims, broadcastStrides, fmtDims, normalizeAxis, stridesOf } from '../shape.js';
import { checkDims, sizeOf } from '../tensor.js';

export interface Strided {
  offset: number;
  strides: number[];
}

export interface CopyPlan {
  /** The box, outermost first. */
  dims: number[];
  src: Strided;
  dst: Strided;
}

export const dense = (dims: readonly number[], offset = 0): Strided => ({ offset, strides: stridesOf(dims) });

/**
 * The same copy with size-1 dims dropped and neighbours merged where both sides are
 * contiguous across them: (B, T, H, D) → (B, H, T, D) becomes (H, T, D); a slice of
 * the last axis becomes (rows, count). Rank 0 (one element) comes back as dims [1].
 */
export function coalesce(p: CopyPlan): CopyPlan {
  const dims: number[] = [];
  const ss: number[] = [];
  const ds: number[] = [];
  for (let i = p.dims.length - 1; i >= 0; i--) {
    const d = p.dims[i];
    if (d === 1) continue;
    const k = dims.length - 1;
    if (k >= 0 && p.src.strides[i] === ss[k] * dims[k] && p.dst.strides[i] === ds[k] * dims[k]) {
      dims[k] *= d;
    } else {
      dims.push(d);
      ss.push(p.src.strides[i]);
      ds.push(p.dst.strides[i]);
    }
  }
  if (dims.length === 0) return { dims: [1], src: { offset: p.src.offset, strides: [1] }, dst: { offset: p.dst.offset, strides: [1] } };
  return {
    dims: dims.reverse(),
    src: { offset: p.src.offset, strides: ss.reverse() },
    dst: { offset: p.dst.offset, strides: ds.reverse() },
  };
}

export function checkPerm(perm: readonly number[], rank: number, what: string): void {
  const seen = new Set(perm);
  if (perm.length !== rank || seen.size !== rank || perm.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) {
    throw new Error(`${what}: perm [${perm.join(', ')}] is not a permutation of 0..${rank - 1}`);
  }
}

/** out dims[d] = x dims[perm[d]]; the copy reads x with permuted strides. */
export function transposePlan(xDims: readonly number[], perm: readonly number[]): CopyPlan {
  checkPerm(perm, xDims.length, `transpose of ${fmtDims(xDims)}`);
  const st = stridesOf(xDims);
  const dims = perm.map((a) => xDims[a]);
  return { dims, src: { offset: 0, strides: perm.map((a) => st[a]) }, dst: dense(dims) };
}

/** Per-axis (start, count, step) of an ONNX Slice, one entry per axis of x. */
export interface SliceRanges {
  starts: number[];
  counts: number[];
  steps: number[];
}

/**
 * ONNX Slice: negative starts/ends count from the end; they are then clamped to [0, len]
 * for positive steps and [-1, len-1] for negative ones (so INT_MAX / INT_MIN ends mean
 * "to the end"); axes may be negative and must not repeat; steps default to 1, not 0.
 */
export function sliceRanges(
  xDims: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  axes: readonly number[],
  steps: readonly number[] | undefined,
  what: string,
): SliceRanges {
  const st = steps ?? starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || st.length !== starts.length) {
    throw new Error(
      `${what} of ${fmtDims(xDims)}: starts, ends, axes and steps need one entry each per sliced axis ` +
        `(got ${starts.length}, ${ends.length}, ${axes.length}, ${st.length})`,
    );
  }
  const r: SliceRanges = { starts: xDims.map(() => 0), counts: [...xDims], steps: xDims.map(() => 1) };
  const done = new Set<number>();
  axes.forEach((axis, i) => {
    const a = normalizeAxis(axis, xDims.length, `${what} of ${fmtDims(xDims)}: axis`);
    if (done.has(a)) throw new Error(`${what} of ${fmtDims(xDims)}: axis ${a} is sliced twice`);
    done.add(a);
    const step = st[i];
    if (!Number.isInteger(step) || step === 0) throw new Error(`${what} of ${fmtDims(xDims)}: step ${step} on axis ${a} must be a nonzero integer`);
    const len = xDims[a];
    const wrap = (v: number) => (v < 0 ? v + len : v);
    // ONNX: with step > 0 both clamp to [0, len]; with step < 0 the start clamps to
    // [0, len − 1] and the end to [−1, len − 1] (−1: run through element 0).
    const clamp = (v: number, lo: number) => (step > 0 ? Math.min(Math.max(v, 0), len) : Math.min(Math.max(v, lo), len - 1));
    const s = clamp(wrap(starts[i]), 0);
    const e = clamp(wrap(ends[i]), -1);
    r.starts[a] = s;
    r.counts[a] = Math.max(0, Math.ceil((e - s) / step));
    r.steps[a] = step;
  });
  return r;
}

/** The copy that reads the slice out of x (dst = the dense output of dims `counts`). */
export function slicePlan(xDims: readonly number[], r: SliceRanges): CopyPlan {
  const st = stridesOf(xDims);
  const offset = r.starts.reduce((acc, s, a) => acc + (r.counts[a] > 0 ? s * st[a] : 0), 0);
  return { dims: [...r.counts], src: { offset, strides: st.map((v, a) => v * r.steps[a]) }, dst: dense(r.counts) };
}

/** The same copy with source and destination swapped: dy into the sliced region of x. */
export function sliceBackwardPlan(xDims: readonly number[], r: SliceRanges, dyDims: readonly number[], what: string): CopyPlan {
  checkDims(xDims, `${what} xDims`);
  if (dyDims.length !== r.counts.length || dyDims.some((d, i) => d !== r.counts[i])) {
    throw new Error(`${what}: dy is ${fmtDims(dyDims)}, but the slice of ${fmtDims(xDims)} is ${fmtDims(r.counts)}`);
  }
  const p = slicePlan(xDims, r);
  return { dims: p.dims, src: p.dst, dst: p.src };
}

/** ONNX Expand: the output is broadcast(x dims, dims) — the target may itself broadcast against x. */
export function expandPlan(xDims: readonly number[], dims: readonly number[]): CopyPlan {
  checkDims(dims, 'expand target');
  const outDims = broadcastDims(xDims, dims, `expand ${fmtDims(xDims)} to ${fmtDims(dims)}`);
  return { dims: outDims, src: { offset: 0, strides: broadcastStrides(xDims, outDims) }, dst: dense(outDims) };
}

/** Output dims of a concat, and per input the copy into its region of the output. */
export function concatPlans(inputs: readonly { dims: readonly number[]; dtype: string }[], axis: number): { outDims: number[]; plans: CopyPlan[] } {
  if (inputs.length === 0) throw new Error('concat: needs at least one input');
  const first = inputs[0];
  const a = normalizeAxis(axis, first.dims.length, `concat of ${fmtDims(first.dims)}: axis`);
  inputs.forEach((x, i) => {
    const same = x.dims.length === first.dims.length && x.dims.every((d, k) => k === a || d === first.dims[k]);
    if (!same) {
      const want = `[${first.dims.map((d, k) => (k === a ? '*' : d)).join(', ')}]`;
      throw new Error(`concat along axis ${a}: input ${i} is ${fmtDims(x.dims)}, expected ${want} (as input 0)`);
    }
    if (x.dtype !== first.dtype) throw new Error(`concat: input ${i} is ${x.dtype} ${fmtDims(x.dims)}, input 0 is ${first.dtype}`);
  });
  const outDims = [...first.dims];
  outDims[a] = inputs.reduce((s, x) => s + x.dims[a], 0);
  const outSt = stridesOf(outDims);
  let at = 0;
  const plans = inputs.map((x) => {
    const p: CopyPlan = { dims: [...x.dims], src: dense(x.dims), dst: { offset: at * outSt[a], strides: outSt } };
    at += x.dims[a];
    return p;
  });
  return { outDims, plans };
}

export function checkReshape(xDims: readonly number[], dims: readonly number[]): void {
  checkDims(dims, 'reshape target');
  if (sizeOf(dims) !== sizeOf(xDims)) {
    throw new Error(`reshape: cannot view ${fmtDims(xDims)} (${sizeOf(xDims)} elements) as ${fmtDims(dims)} (${sizeOf(dims)} elements)`);
  }
}

/** Gather's view of data as (outer, len, inner) and its output dims. */
export interface GatherGeometry {
  axis: number;
  outer: number;
  len: number;
  inner: number;
  outDims: number[];
}

export function gatherGeometry(dataDims: readonly number[], idxDims: readonly number[], axis: number, what: string): GatherGeometry {
  if (dataDims.length === 0) throw new Error(`${what}: data must have rank ≥ 1, got a scalar`);
  const a = normalizeAxis(axis, dataDims.length, `${what} of data ${fmtDims(dataDims)}: axis`);
  return {
    axis: a,
    outer: sizeOf(dataDims.slice(0, a)),
    len: dataDims[a],
    inner: sizeOf(dataDims.slice(a + 1)),
    outDims: [...dataDims.slice(0, a), ...idxDims, ...dataDims.slice(a + 1)],
  };
}

/** Indices wrapped into [0, len); throws on the first out-of-range one. */
export function wrapIndices(idx: Int32Array, len: number, what: string, dataDims: readonly number[], axis: number): Int32Array {
  const out = new Int32Array(idx.length);
  for (let j = 0; j < idx.length; j++) {
    const r = idx[j] < 0 ? idx[j] + len : idx[j];
    if (r < 0 || r >= len) {
      throw new Error(`${what}: index ${idx[j]} at position ${j} is out of range for axis ${axis} (size ${len}) of data ${fmtDims(dataDims)}`);
    }
    out[j] = r;
  }
  return out;
}

/**
 * gatherBackward's CSR grouping of wrapped indices, packed in one int32 array (the
 * layout kernels/gather_backward.wgsl reads): [slot of each of the len rows, or -1 |
 * R + 1 offsets | the m positions grouped by row, ascending within a row].
 */
export function gatherCsr(rows: Int32Array, len: number): { csr: Int32Array; distinct: number } {
  const slot = new Int32Array(len).fill(-1);
  const counts: number[] = [];
  for (const r of rows) {
    if (slot[r] < 0) slot[r] = counts.push(0) - 1;
    counts[slot[r]]++;
  }
  const R = counts.length;
  const csr = new Int32Array(len + R + 1 + rows.length);
  csr.set(slot);
  const off = len;
  for (let s = 0; s < R; s++) csr[off + s + 1] = csr[off + s] + counts[s];
  const fill = counts.map(() => 0);
  const pos = len + R + 1;
  rows.forEach((r, j) => {
    const s = slot[r];
    csr[pos + csr[off + s] + fill[s]++] = j;
  });
  return { csr, distinct: R };
}
