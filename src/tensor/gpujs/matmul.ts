/**
 * gpujs matmul: one strided GEMM kernel serves matmul (any transA/transB, bias, alpha)
 * and the LoRA matmul forward and backward (./lora.ts):
 *
 *   out[m][n] = alpha · Σ_k a[m·sam + k·sak] · b[k·sbk + n·sbn]
 *             + bias[n·sbias]
 *             + s · Σ_j p[m·spm + j·spj] · q[n·sqn + j·sqj]        (j < R; R = 0 for plain matmul)
 *
 * Transposes are strides, not kernel variants. Each output cell computes 4 rows
 * (m0..m0+3, clamped to M − 1) of one column n and returns them as Array(4); output is
 * [N, ceil(M/4)]. Why 4 rows: a[] reads do not depend on thread.x, so gpu.js's webasm
 * SIMD path loads them once and splats them, while b[] reads vary per lane and cost 4
 * scalar loads (wasm has no gather); sharing one b load across 4 rows halves the loads per
 * multiply-add (measured 1.5× over one row per cell). Loops run to the K and R arguments
 * (gpu.js bounds them by loopMaxIterations on WebGL). Accumulation is float32.
 *
 * Batches (leading dims, numpy-broadcast) loop on the host, one kernel call per batch.
 * A bias of one element is read at stride 0 (Gemm's C of shape (1)).
 */
import type { MatmulOptions } from '../backend.js';
import { Tensor } from '../tensor.js';
import { matmulOperands } from '../cpu/matmul.js';
import { LOOP_MAX, type GpuJsRuntime, type KernelThis } from './runtime.js';

function gemmKernel(
  this: KernelThis, a: Float32Array, b: Float32Array, bias: Float32Array, p: Float32Array, q: Float32Array,
  M: number, K: number, R: number,
  sam: number, sak: number, sbk: number, sbn: number, sbias: number,
  spm: number, spj: number, sqn: number, sqj: number, alpha: number, s: number,
): [number, number, number, number] {
  const n = this.thread.x;
  const m0 = this.thread.y * 4;
  let m1 = m0 + 1;
  let m2 = m0 + 2;
  let m3 = m0 + 3;
  if (m1 > M - 1) m1 = M - 1;
  if (m2 > M - 1) m2 = M - 1;
  if (m3 > M - 1) m3 = M - 1;

  const a0 = m0 * sam;
  const a1 = m1 * sam;
  const a2 = m2 * sam;
  const a3 = m3 * sam;
  let ia = 0;
  let ib = n * sbn;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < K; k++) {
    const bv = b[ib];
    s0 += a[a0 + ia] * bv;
    s1 += a[a1 + ia] * bv;
    s2 += a[a2 + ia] * bv;
    s3 += a[a3 + ia] * bv;
    ia += sak;
    ib += sbk;
  }

  const p0 = m0 * spm;
  const p1 = m1 * spm;
  const p2 = m2 * spm;
  const p3 = m3 * spm;
  let ip = 0;
  let iq = n * sqn;
  let t0 = 0;
  let t1 = 0;
  let t2 = 0;
  let t3 = 0;
  for (let j = 0; j < R; j++) {
    const qv = q[iq];
    t0 += p[p0 + ip] * qv;
    t1 += p[p1 + ip] * qv;
    t2 += p[p2 + ip] * qv;
    t3 += p[p3 + ip] * qv;
    ip += spj;
    iq += sqj;
  }

  const c = bias[n * sbias];
  return [alpha * s0 + c + s * t0, alpha * s1 + c + s * t1, alpha * s2 + c + s * t2, alpha * s3 + c + s * t3];
}

const ARG_TYPES = {
  a: 'Array', b: 'Array', bias: 'Array', p: 'Array', q: 'Array',
  M: 'Integer', K: 'Integer', R: 'Integer',
  sam: 'Integer', sak: 'Integer', sbk: 'Integer', sbn: 'Integer', sbias: 'Integer',
  spm: 'Integer', spj: 'Integer', sqn: 'Integer', sqj: 'Integer', alpha: 'Float', s: 'Float',
} as const;

/** Strides of a (rows, cols) operand: [row stride, col stride]. */
export type Strides = readonly [number, number];

/** Strides that read a logical (rows, cols) matrix stored row-major as (rows, cols), or with `trans` as (cols, rows). */
export const view = (rows: number, cols: number, trans = false): Strides => (trans ? [1, rows] : [cols, 1]);

export interface Gemm {
  M: number;
  N: number;
  K: number;
  a: Float32Array; // read as (M, K) through sa
  sa: Strides;
  b: Float32Array; // read as (K, N) through sb
  sb: Strides;
  alpha?: number;
  bias?: Float32Array; // (N), or (1) broadcast over N
  /** The low-rank term s · P·Qᵀ: P read as (M, r), Q as (N, r). */
  lora?: { p: Float32Array; sp: Strides; q: Float32Array; sq: Strides; r: number; s: number };
}

const NONE = new Float32Array(1); // stands in for an absent bias / low-rank term (read at stride 0)

/** out (M, N) row-major = the formula in the header, one kernel call. */
export function gemm(rt: GpuJsRuntime, g: Gemm): Float32Array {
  const { M, N, K } = g;
  const out = new Float32Array(M * N);
  if (M === 0 || N === 0) return out;
  const r = g.lora?.r ?? 0;
  if (K > LOOP_MAX || r > LOOP_MAX) throw new Error(`gpujs gemm: K ${K} or r ${r} exceeds the kernel loop bound ${LOOP_MAX}`);
  const lo = g.lora ?? { p: NONE, sp: [0, 0] as Strides, q: NONE, sq: [0, 0] as Strides, s: 0 };
  const k = rt.kernel('gemm', gemmKernel, ARG_TYPES, { returns4: true });
  const rows = Math.ceil(M / 4);
  // gpu.js cannot take empty arrays; with K = 0 (or r = 0) the loops never read them.
  const nonEmpty = (v: Float32Array) => (v.length > 0 ? v : NONE);
  const res = rt.run('gemm', k, [N, rows], [
    nonEmpty(g.a), nonEmpty(g.b), g.bias ?? NONE, nonEmpty(lo.p), nonEmpty(lo.q),
    M, K, r,
    g.sa[0], g.sa[1], g.sb[0], g.sb[1], g.bias && g.bias.length === N ? 1 : 0,
    lo.sp[0], lo.sp[1], lo.sq[0], lo.sq[1], g.alpha ?? 1, lo.s,
  ]) as unknown as ArrayLike<ArrayLike<ArrayLike<number>>>; // [row block][n] → 4 rows
  for (let y = 0; y < rows; y++) {
    const block = res[y];
    const rowsHere = Math.min(4, M - 4 * y);
    for (let n = 0; n < N; n++) {
      const v = block[n];
      for (let c = 0; c < rowsHere; c++) out[(4 * y + c) * N + n] = v[c];
    }
  }
  return out;
}

/**
 * Backend.matmul: a (..., M, K) · b (..., K, N) → (..., M, N), leading dims broadcast;
 * 1-D operands promoted as ONNX MatMul; bias (N) or (1). Shapes resolve through the cpu
 * backend's `matmulOperands`, so both backends accept exactly the same calls.
 */
export function matmul(rt: GpuJsRuntime, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { s, av, bv, bias, oa, ob } = matmulOperands(a, b, opts);
  const { M, N, K } = s;
  const out = new Float32Array(oa.length * M * N);
  // A 1-D operand, promoted to (1, K) or (K, 1), is contiguous either way, and s.transA /
  // s.transB are false for it: the plain views read it correctly.
  const sa = view(M, K, s.transA);
  const sb = view(K, N, s.transB);
  for (let i = 0; i < oa.length; i++) {
    const aOff = oa[i] * M * K;
    const bOff = ob[i] * K * N;
    const y = gemm(rt, {
      M, N, K, sa, sb, alpha: opts.alpha, bias,
      a: av.subarray(aOff, aOff + M * K),
      b: bv.subarray(bOff, bOff + K * N),
    });
    out.set(y, i * M * N);
  }
  return new Tensor('float32', out, s.outDims);
}
