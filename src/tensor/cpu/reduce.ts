/**
 * cpu reference: ONNX ReduceSum / ReduceMean / ReduceMax and their backward, float64
 * accumulation. Softmax and cross-entropy live beside this file and are re-exported
 * here because `index.ts` reads the whole family from './reduce.js'.
 */
import type { ReduceOp } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, normalizeAxis, stridesOf } from '../shape.js';
import { f32, f32Tensor } from './common.js';

export { softmax, softmaxBackward } from './softmax.js';
export { crossEntropy, crossEntropyBackward } from './crossEntropy.js';

const OPS: readonly ReduceOp[] = ['sum', 'mean', 'max'];

export interface ReducePlan {
  /** Per input dim: is it reduced? */
  reduced: boolean[];
  /** Output dims (reduced dims kept as 1 or dropped, per keepDims). */
  outDims: number[];
  /** Output elements, and input elements folded into each. */
  nOut: number;
  r: number;
}

/**
 * Normalizes ONNX reduce axes: negative axes wrap, duplicates are an error, and an
 * empty list means every axis (ONNX's default with noop_with_empty_axes = 0).
 */
export function reducePlan(op: ReduceOp, dims: readonly number[], axes: readonly number[], keepDims: boolean): ReducePlan {
  if (!OPS.includes(op)) throw new Error(`reduce: unknown op '${op}' (expected ${OPS.join(', ')})`);
  const rank = dims.length;
  const reduced = new Array<boolean>(rank).fill(axes.length === 0);
  for (const a of axes) {
    const n = normalizeAxis(a, rank, `reduce ${op} on ${fmtDims(dims)}: axis`);
    if (reduced[n]) throw new Error(`reduce ${op} on ${fmtDims(dims)}: axis ${a} is listed twice in [${axes.join(', ')}]`);
    reduced[n] = true;
  }
  const outDims: number[] = [];
  let nOut = 1;
  let r = 1;
  dims.forEach((d, i) => {
    if (reduced[i]) r *= d;
    else nOut *= d;
    if (!reduced[i]) outDims.push(d);
    else if (keepDims) outDims.push(1);
  });
  return { reduced, outDims, nOut, r };
}

/** Checks that dy has the reduce output's shape (either keepDims form: same layout). */
export function checkReduceDy(op: ReduceOp, x: Tensor, plan: ReducePlan, dy: Tensor): void {
  const squeezed = x.dims.filter((_, i) => !plan.reduced[i]);
  const kept = x.dims.map((d, i) => (plan.reduced[i] ? 1 : d));
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(dy.dims, plan.outDims) && !same(dy.dims, squeezed) && !same(dy.dims, kept)) {
    throw new Error(`reduceBackward ${op}: dy is ${fmtDims(dy.dims)}, expected ${fmtDims(plan.outDims)} for x ${fmtDims(x.dims)}`);
  }
}

/** For each input element, the index of the output element it folds into. */
function outIndexOf(dims: readonly number[], reduced: boolean[]): Int32Array {
  const inStrides = stridesOf(dims);
  // Output strides over the kept dims only; reduced dims contribute 0.
  const outStrides = new Array<number>(dims.length).fill(0);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    if (reduced[i]) continue;
    outStrides[i] = acc;
    acc *= dims[i];
  }
  const n = dims.reduce((a, b) => a * b, 1);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let d = 0; d < dims.length; d++) o += (Math.floor(i / inStrides[d]) % dims[d]) * outStrides[d];
    idx[i] = o;
  }
  return idx;
}

/** Max per output, NaN-propagating as torch.amax; -Infinity for an empty reduction. */
function maxPerOutput(xs: Float32Array, idx: Int32Array, nOut: number): Float64Array {
  const m = new Float64Array(nOut).fill(-Infinity);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    if (v > m[idx[i]] || Number.isNaN(v)) m[idx[i]] = v;
  }
  return m;
}

export function reduce(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const plan = reducePlan(op, x.dims, axes, keepDims);
  const xs = f32(x, `reduce ${op} x`);
  const idx = outIndexOf(x.dims, plan.reduced);
  let acc: Float64Array;
  if (op === 'max') acc = maxPerOutput(xs, idx, plan.nOut);
  else {
    acc = new Float64Array(plan.nOut);
    for (let i = 0; i < xs.length; i++) acc[idx[i]] += xs[i];
    // Mean over an empty set is 0/0 = NaN, as numpy and torch.
    if (op === 'mean') for (let o = 0; o < plan.nOut; o++) acc[o] /= plan.r;
  }
  return f32Tensor(Float32Array.from(acc), plan.outDims);
}

/**
 * sum: dx = dy broadcast back; mean: dy / r. max follows torch.amax: the gradient is
 * split evenly among the elements equal to the max (torch.max(dim) would pick one).
 */
export function reduceBackward(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean, dy: Tensor): Tensor {
  const plan = reducePlan(op, x.dims, axes, keepDims);
  checkReduceDy(op, x, plan, dy);
  const g = f32(dy, `reduceBackward ${op} dy`);
  const idx = outIndexOf(x.dims, plan.reduced);
  const dx = new Float32Array(x.size);
  if (op !== 'max') {
    const scale = op === 'mean' ? 1 / plan.r : 1;
    for (let i = 0; i < dx.length; i++) dx[i] = g[idx[i]] * scale;
    return f32Tensor(dx, x.dims);
  }
  const xs = f32(x, 'reduceBackward max x');
  const m = maxPerOutput(xs, idx, plan.nOut);
  const ties = new Float64Array(plan.nOut);
  for (let i = 0; i < xs.length; i++) if (xs[i] === m[idx[i]]) ties[idx[i]]++;
  for (let i = 0; i < xs.length; i++) if (xs[i] === m[idx[i]]) dx[i] = g[idx[i]] / ties[idx[i]];
  return f32Tensor(dx, x.dims);
}
