/**
 * cpu reference: matmul (Backend.matmul), float64 accumulation, float32 store. Also the
 * shape resolution every backend shares (`matmulShape`): ONNX MatMul's 1-D promotion,
 * transposes on the last two dims, numpy broadcasting of the leading (batch) dims.
 */
import type { MatmulOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { broadcastDims, fmtDims } from '../shape.js';
import { broadcastOffsets } from './binary.js';
import { f32, f32Tensor } from './common.js';

export interface MatmulShape {
  M: number;
  N: number;
  K: number;
  /** Effective flags: a 1-D operand is never transposed (a vector has no orientation). */
  transA: boolean;
  transB: boolean;
  /** Leading dims of a and b (after 1-D promotion) and their broadcast. */
  aBatch: number[];
  bBatch: number[];
  batch: number[];
  /** (...batch, M, N) without the dims a 1-D operand's promotion added. */
  outDims: number[];
}

/**
 * Resolves a (..., M, K) · b (..., K, N). A 1-D a (K) is read as (1, K) and a 1-D b (K)
 * as (K, 1), the added dim dropped from the output (numpy / ONNX MatMul).
 */
export function matmulShape(aDims: readonly number[], bDims: readonly number[], opts: MatmulOptions = {}): MatmulShape {
  if (aDims.length === 0 || bDims.length === 0) {
    throw new Error(`matmul: a ${fmtDims(aDims)} and b ${fmtDims(bDims)} must have rank ≥ 1`);
  }
  const aVec = aDims.length === 1;
  const bVec = bDims.length === 1;
  const transA = !aVec && !!opts.transA;
  const transB = !bVec && !!opts.transB;
  const a2 = aVec ? [1, aDims[0]] : aDims;
  const b2 = bVec ? [bDims[0], 1] : bDims;
  const [ar, ac] = a2.slice(-2);
  const [br, bc] = b2.slice(-2);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    throw new Error(
      `matmul: inner dims differ: a ${fmtDims(aDims)}${transA ? 'ᵀ' : ''} gives K = ${K}, ` +
        `b ${fmtDims(bDims)}${transB ? 'ᵀ' : ''} gives K = ${Kb}`,
    );
  }
  const aBatch = a2.slice(0, -2);
  const bBatch = b2.slice(0, -2);
  const batch = broadcastDims(aBatch, bBatch, 'matmul batch dims');
  const outDims = [...batch, ...(aVec ? [] : [M]), ...(bVec ? [] : [N])];
  return { M, N, K, transA, transB, aBatch, bBatch, batch, outDims };
}

/** The bias must be (N), or (1) broadcast over N (a Gemm C of one element). */
export function checkBias(bias: Tensor, N: number): void {
  if (bias.rank !== 1 || (bias.dims[0] !== N && bias.dims[0] !== 1)) {
    throw new Error(`matmul: bias is ${fmtDims(bias.dims)}, expected [${N}] (or [1])`);
  }
}

/**
 * A matmul call's checked operands as host arrays: the shape, a and b, the bias, and
 * per output batch the batch index into a and into b (broadcast). Every host backend
 * (cpu, gpujs) starts here, so they accept exactly the same calls.
 */
export function matmulOperands(a: Tensor, b: Tensor, opts: MatmulOptions) {
  const s = matmulShape(a.dims, b.dims, opts);
  const av = f32(a, 'matmul a');
  const bv = f32(b, 'matmul b');
  let bias: Float32Array | undefined;
  if (opts.bias) {
    checkBias(opts.bias, s.N);
    bias = f32(opts.bias, 'matmul bias');
  }
  return { s, av, bv, bias, oa: broadcastOffsets(s.aBatch, s.batch), ob: broadcastOffsets(s.bBatch, s.batch) };
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { s, av, bv, bias, oa, ob } = matmulOperands(a, b, opts);
  const { M, N, K } = s;
  const alpha = opts.alpha ?? 1;
  const y = new Float32Array(oa.length * M * N);
  // Element strides of the logical a (M, K) and b (K, N).
  const [sam, sak] = s.transA ? [1, M] : [K, 1];
  const [sbk, sbn] = s.transB ? [1, K] : [N, 1];
  const acc = new Float64Array(N);
  for (let z = 0; z < oa.length; z++) {
    const a0 = oa[z] * M * K;
    const b0 = ob[z] * K * N;
    for (let m = 0; m < M; m++) {
      gemmRow(acc, av, a0 + m * sam, sak, bv, b0, sbk, sbn, K, N);
      const yRow = (z * M + m) * N;
      for (let n = 0; n < N; n++) y[yRow + n] = alpha * acc[n] + (bias ? bias[bias.length === 1 ? 0 : n] : 0);
    }
  }
  return f32Tensor(y, s.outDims);
}

/** acc[n] = Σ_k a[ai + k·sak] · b[b0 + k·sbk + n·sbn] in float64. */
function gemmRow(
  acc: Float64Array, a: Float32Array, ai: number, sak: number,
  b: Float32Array, b0: number, sbk: number, sbn: number, K: number, N: number,
): void {
  if (sbn === 1) {
    acc.fill(0);
    // b rows are contiguous: axpy over n keeps the inner loop on sequential memory.
    for (let k = 0; k < K; k++) {
      const v = a[ai + k * sak];
      const row = b0 + k * sbk;
      for (let n = 0; n < N; n++) acc[n] += v * b[row + n];
    }
    return;
  }
  // b is (N, K) in memory (transB): dot products along k, four columns at a time so the
  // float64 adds form independent chains (each column still sums in k order).
  let n = 0;
  for (; n + 4 <= N; n += 4) {
    const c = b0 + n * sbn;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < K; k++) {
      const v = a[ai + k * sak];
      const e = c + k * sbk;
      s0 += v * b[e];
      s1 += v * b[e + sbn];
      s2 += v * b[e + 2 * sbn];
      s3 += v * b[e + 3 * sbn];
    }
    acc[n] = s0;
    acc[n + 1] = s1;
    acc[n + 2] = s2;
    acc[n + 3] = s3;
  }
  for (; n < N; n++) {
    let sum = 0;
    const c = b0 + n * sbn;
    for (let k = 0; k < K; k++) sum += a[ai + k * sak] * b[c + k * sbk];
    acc[n] = sum;
  }
}
