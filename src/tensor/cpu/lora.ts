/**
 * cpu reference: the LoRA matmul (Backend.loraMatmul) and its backward, exactly PEFT's
 * `result = base(x) + lora_B(lora_A(dropout(x))) * scaling` with
 *
 *   h  = dropout(x)·Aᵀ                        (M, r)
 *   y  = x·W (+ bias) + s·h·Bᵀ                 (M, N)
 *   g  = dy·B                                  (M, r)
 *   dx = dy·Wᵀ + s·(g·A) ⊙ mask / (1 − p)      (M, K)
 *   dA = s·gᵀ·dropout(x)                       (r, K)
 *   dB = s·dyᵀ·h                               (N, r)
 *
 * W + s·Bᵀ·Aᵀ is never formed. Sums run in float64 (h and g stay float64 between the
 * steps); results are stored float32. Also the shape checks all backends share.
 */
import type { LoraGrads, LoraOptions } from '../backend.js';
import { dropoutParams, keeps, type DropoutParams } from '../dropout.js';
import type { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { f32, f32Tensor } from './common.js';

/** Largest adapter rank the kernels support (the GPU tiles hold up to 64 columns of h). */
export const MAX_LORA_RANK = 64;

export interface LoraShape {
  /** Rows: x's leading dims flattened. */
  M: number;
  K: number;
  N: number;
  r: number;
  /** x's leading dims; y is (...lead, N). */
  lead: number[];
  dropout: DropoutParams | null;
}

/** Validates x (..., K), W (K, N) or (N, K) with transW, A (r, K), B (N, r), bias (N), r ≤ 64. */
export function loraShape(op: string, x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): LoraShape {
  if (x.rank < 1) throw new Error(`${op}: x must have rank ≥ 1 (…, K), got ${fmtDims(x.dims)}`);
  const K = x.dims[x.rank - 1];
  const lead = x.dims.slice(0, -1);
  const M = lead.reduce((p, d) => p * d, 1);
  if (w.rank !== 2) throw new Error(`${op}: W must be 2-D ${opts.transW ? '(N, K)' : '(K, N)'}, got ${fmtDims(w.dims)}`);
  const [wk, N] = opts.transW ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
  if (wk !== K) {
    throw new Error(`${op}: W is ${fmtDims(w.dims)}, expected ${opts.transW ? `(N, ${K}) with transW` : `(${K}, N)`} for x ${fmtDims(x.dims)}`);
  }
  if (a.rank !== 2 || a.dims[1] !== K) throw new Error(`${op}: A is ${fmtDims(a.dims)}, expected (r, ${K}) (lora_A.weight)`);
  const r = a.dims[0];
  if (r < 1 || r > MAX_LORA_RANK) throw new Error(`${op}: LoRA rank r = ${r} (A ${fmtDims(a.dims)}) must be in 1..${MAX_LORA_RANK}`);
  if (b.rank !== 2 || b.dims[0] !== N || b.dims[1] !== r) {
    throw new Error(`${op}: B is ${fmtDims(b.dims)}, expected [${N}, ${r}] (lora_B.weight)`);
  }
  if (opts.bias && (opts.bias.rank !== 1 || opts.bias.dims[0] !== N)) {
    throw new Error(`${op}: bias is ${fmtDims(opts.bias.dims)}, expected [${N}]`);
  }
  if (!Number.isFinite(opts.scaling)) throw new Error(`${op}: scaling ${opts.scaling} must be a finite number`);
  return { M, K, N, r, lead, dropout: dropoutParams(opts.dropout, op) };
}

/** dy must be (…, N) with M rows. */
export function checkDy(op: string, dy: Tensor, s: LoraShape): void {
  if (dy.rank < 1 || dy.dims[dy.rank - 1] !== s.N || dy.size !== s.M * s.N) {
    throw new Error(`${op}: dy is ${fmtDims(dy.dims)}, expected (…, ${s.N}) with ${s.M} rows`);
  }
}

/** dropout(x) in float64: kept values scaled by 1 / (1 − p), dropped ones 0. */
function dropped(x: Float32Array, d: DropoutParams | null): Float64Array {
  const out = Float64Array.from(x);
  if (d) for (let i = 0; i < out.length; i++) out[i] = keeps(d, i) ? out[i] * d.scale : 0;
  return out;
}

/** (rows, cols) = P (rows, depth) · Q where Q[d, j] = q[d·qd + j·qj]; float64. */
function gemm(p: ArrayLike<number>, rows: number, depth: number, q: ArrayLike<number>, cols: number, qd: number, qj: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let acc = 0;
      for (let d = 0; d < depth; d++) acc += p[i * depth + d] * q[d * qd + j * qj];
      out[i * cols + j] = acc;
    }
  }
  return out;
}

export function loraMatmul(x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor {
  const s = loraShape('loraMatmul', x, w, a, b, opts);
  const { M, K, N, r } = s;
  const xv = f32(x, 'loraMatmul x');
  const wv = f32(w, 'loraMatmul W');
  const bv = f32(b, 'loraMatmul B');
  const bias = opts.bias ? f32(opts.bias, 'loraMatmul bias') : null;
  const h = gemm(dropped(xv, s.dropout), M, K, f32(a, 'loraMatmul A'), r, 1, K); // (M, r): A read as Aᵀ (K, r)
  const base = opts.transW ? gemm(xv, M, K, wv, N, 1, K) : gemm(xv, M, K, wv, N, N, 1); // (M, N)
  const low = gemm(h, M, r, bv, N, 1, r); // h·Bᵀ (M, N)
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      const i = m * N + n;
      y[i] = base[i] + (bias ? bias[n] : 0) + opts.scaling * low[i];
    }
  }
  return f32Tensor(y, [...s.lead, N]);
}

export function loraMatmulBackward(x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions): LoraGrads {
  const op = 'loraMatmulBackward';
  const s = loraShape(op, x, w, a, b, opts);
  checkDy(op, dy, s);
  const { M, K, N, r } = s;
  const sc = opts.scaling;
  const xd = dropped(f32(x, `${op} x`), s.dropout);
  const wv = f32(w, `${op} W`);
  const av = f32(a, `${op} A`);
  const g0 = f32(dy, `${op} dy`);
  const h = gemm(xd, M, K, av, r, 1, K); // (M, r)
  const g = gemm(g0, M, N, f32(b, `${op} B`), r, r, 1); // dy·B (M, r)
  const base = opts.transW ? gemm(g0, M, N, wv, K, K, 1) : gemm(g0, M, N, wv, K, 1, N); // dy·Wᵀ (M, K)
  const low = gemm(g, M, r, av, K, K, 1); // g·A (M, K)
  const dx = new Float32Array(M * K);
  for (let i = 0; i < M * K; i++) {
    const mask = s.dropout ? (keeps(s.dropout, i) ? s.dropout.scale : 0) : 1;
    dx[i] = base[i] + sc * low[i] * mask;
  }
  // dA (r, K) = s·gᵀ·xd and dB (N, r) = s·dyᵀ·h: transposed reads of row-major (M, ·) data.
  const gT = transpose(g, M, r);
  const dA = gemm(gT, r, M, xd, K, K, 1).map((v) => sc * v);
  const dB = gemm(transpose(g0, M, N), N, M, h, r, r, 1).map((v) => sc * v);
  return {
    dx: f32Tensor(dx, x.dims),
    dA: f32Tensor(Float32Array.from(dA), [r, K]),
    dB: f32Tensor(Float32Array.from(dB), [N, r]),
  };
}

function transpose(v: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j];
  return out;
}
