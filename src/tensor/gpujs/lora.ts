/**
 * gpujs LoRA matmul, forward and backward, on the strided GEMM of ./matmul.ts. The
 * adapter is never merged into W (W + s·Bᵀ·Aᵀ is never formed):
 *
 *   forward   xa = x·Aᵀ (M, r);  y = x·W + bias + s·xa·Bᵀ          2 kernel calls
 *   backward  g = dy·B (M, r);   dx = dy·Wᵀ + s·g·A  (fused)
 *             dA = s·gᵀ·x (r, K);  dB = s·dyᵀ·xa (N, r)             5 kernel calls
 *
 * x may carry leading dims (..., K); they are flattened into M. Dropout: only p = 0 for
 * now: the mask must come from src/tensor/dropout.ts (shared with the other backends so
 * the backward regenerates the same mask), which does not exist yet; p > 0 throws.
 */
import type { LoraGrads, LoraOptions } from '../backend.js';
import { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { f32 } from '../cpu/common.js';
import { gemm, view } from './matmul.js';
import type { GpuJsRuntime } from './runtime.js';

interface LoraShapes {
  M: number;
  K: number;
  N: number;
  r: number;
  lead: readonly number[]; // x's leading dims
}

function shapes(what: string, x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): LoraShapes {
  if (x.rank < 1) throw new Error(`${what}: x must have rank ≥ 1, got ${fmtDims(x.dims)}`);
  const K = x.dims[x.rank - 1];
  const lead = x.dims.slice(0, -1);
  const M = lead.reduce((p, d) => p * d, 1);
  if (w.rank !== 2) throw new Error(`${what}: W must be 2-D, got ${fmtDims(w.dims)}`);
  const [wk, N] = opts.transW ? [w.dims[1], w.dims[0]] : [w.dims[0], w.dims[1]];
  if (wk !== K) throw new Error(`${what}: W is ${fmtDims(w.dims)}${opts.transW ? ' (transW: N, K)' : ' (K, N)'}, but x ${fmtDims(x.dims)} has K = ${K}`);
  const r = a.dims[0];
  if (a.rank !== 2 || a.dims[1] !== K) throw new Error(`${what}: A is ${fmtDims(a.dims)}, expected (r, ${K})`);
  if (b.rank !== 2 || b.dims[0] !== N || b.dims[1] !== r) throw new Error(`${what}: B is ${fmtDims(b.dims)}, expected [${N}, ${r}]`);
  if (opts.bias && (opts.bias.rank !== 1 || opts.bias.dims[0] !== N)) {
    throw new Error(`${what}: bias is ${fmtDims(opts.bias.dims)}, expected [${N}]`);
  }
  const p = opts.dropout?.p ?? 0;
  if (!(p >= 0 && p < 1)) throw new Error(`${what}: dropout p = ${p} must be in [0, 1)`);
  if (p > 0) {
    throw new Error(`${what}: gpujs supports lora dropout p = 0 only until src/tensor/dropout.ts provides the shared mask (got p = ${p})`);
  }
  return { M, K, N, r, lead };
}

export function loraMatmul(rt: GpuJsRuntime, x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor {
  const { M, K, N, r, lead } = shapes('loraMatmul', x, w, a, b, opts);
  const xv = f32(x, 'loraMatmul x');
  const av = f32(a, 'loraMatmul A');
  // xa = x·Aᵀ: A (r, K) read as (K, r)
  const xa = gemm(rt, { M, N: r, K, a: xv, sa: view(M, K), b: av, sb: view(K, r, true) });
  const y = gemm(rt, {
    M, N, K,
    a: xv, sa: view(M, K),
    b: f32(w, 'loraMatmul W'), sb: view(K, N, opts.transW),
    bias: opts.bias ? f32(opts.bias, 'loraMatmul bias') : undefined,
    lora: { p: xa, sp: view(M, r), q: f32(b, 'loraMatmul B'), sq: view(N, r), r, s: opts.scaling },
  });
  return new Tensor('float32', y, [...lead, N]);
}

export function loraMatmulBackward(rt: GpuJsRuntime, x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions): LoraGrads {
  const { M, K, N, r } = shapes('loraMatmulBackward', x, w, a, b, opts);
  if (dy.size !== M * N || dy.dims[dy.rank - 1] !== N) {
    throw new Error(`loraMatmulBackward: dy is ${fmtDims(dy.dims)}, expected (…, ${N}) with ${M} rows like x ${fmtDims(x.dims)}`);
  }
  const s = opts.scaling;
  const xv = f32(x, 'loraMatmulBackward x');
  const av = f32(a, 'loraMatmulBackward A');
  const bv = f32(b, 'loraMatmulBackward B');
  const g = f32(dy, 'loraMatmulBackward dy');
  const xa = gemm(rt, { M, N: r, K, a: xv, sa: view(M, K), b: av, sb: view(K, r, true) }); // (M, r)
  const gb = gemm(rt, { M, N: r, K: N, a: g, sa: view(M, N), b: bv, sb: view(N, r) }); // dy·B (M, r)
  // dx = dy·Wᵀ + s·(dy·B)·A: Wᵀ read as (N, K); A (r, K) is the low-rank Q read as (K, r).
  const dx = gemm(rt, {
    M, N: K, K: N,
    a: g, sa: view(M, N),
    b: f32(w, 'loraMatmulBackward W'), sb: view(N, K, !opts.transW),
    lora: { p: gb, sp: view(M, r), q: av, sq: view(K, r, true), r, s },
  });
  // dA = s·(dy·B)ᵀ·x: (r, M)·(M, K);  dB = s·dyᵀ·xa: (N, M)·(M, r)
  const dA = gemm(rt, { M: r, N: K, K: M, a: gb, sa: view(r, M, true), b: xv, sb: view(M, K), alpha: s });
  const dB = gemm(rt, { M: N, N: r, K: M, a: g, sa: view(N, M, true), b: xa, sb: view(M, r), alpha: s });
  return {
    dx: new Tensor('float32', dx, x.dims),
    dA: new Tensor('float32', dA, [r, K]),
    dB: new Tensor('float32', dB, [N, r]),
  };
}
