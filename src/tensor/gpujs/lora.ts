/**
 * gpujs LoRA matmul, forward and backward, on the strided GEMM of ./matmul.ts. The
 * adapter is never merged into W (W + s·Bᵀ·Aᵀ is never formed):
 *
 *   forward   h = xd·Aᵀ (M, r);  y = x·W + bias + s·h·Bᵀ                  2 kernel calls
 *   backward  g = dy·B (M, r)
 *             dx = dy·Wᵀ + s·g·A               (p = 0: one fused call)
 *             dx = dy·Wᵀ + s·(g·A) ⊙ mask/(1−p) (p > 0: two calls, masked sum on the host)
 *             dA = s·gᵀ·xd (r, K);  dB = s·dyᵀ·h (N, r)                   5–6 kernel calls
 *
 * where xd = dropout(x) (xd = x when p = 0). x may carry leading dims (..., K); they are
 * flattened into M. Shapes and the dropout spec are checked by the cpu backend's
 * `loraShape`, so every backend accepts and refuses the same calls.
 *
 * Dropout mask: computed on the host with src/tensor/dropout.ts's `keeps`, over x's flat
 * element index, exactly as the cpu and webgpu backends. Not in the gpu.js kernel: the
 * hash needs exact u32 multiplies mod 2³², and gpu.js kernels compute in float (its GLSL
 * `imul` is `float(int(a) * int(b))` on float-typed values, so anything above 2²⁴ rounds;
 * results come back as float32 on every mode), which would give a different mask. The
 * host pass is O(M·K) against the O(M·K·N) GEMM.
 */
import type { LoraGrads, LoraOptions } from '../backend.js';
import { keeps, type DropoutParams } from '../dropout.js';
import { Tensor } from '../tensor.js';
import { f32 } from '../cpu/common.js';
import { checkDy, loraShape } from '../cpu/lora.js';
import { gemm, view } from './matmul.js';
import type { GpuJsRuntime } from './runtime.js';

/** Per element of x: 1/(1 − p) where kept, 0 where dropped. */
function maskScale(d: DropoutParams, n: number): Float32Array {
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) m[i] = keeps(d, i) ? d.scale : 0;
  return m;
}

/** dropout(x) = x ⊙ mask (a new array), or x itself without a mask. */
function applyMask(x: Float32Array, mask: Float32Array | null): Float32Array {
  if (!mask) return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * mask[i];
  return out;
}

export function loraMatmul(rt: GpuJsRuntime, x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor {
  const { M, K, N, r, lead, dropout } = loraShape('loraMatmul', x, w, a, b, opts);
  const xv = f32(x, 'loraMatmul x');
  const xd = applyMask(xv, dropout && maskScale(dropout, M * K));
  // h = dropout(x)·Aᵀ: A (r, K) read as (K, r)
  const h = gemm(rt, { M, N: r, K, a: xd, sa: view(M, K), b: f32(a, 'loraMatmul A'), sb: view(K, r, true) });
  const y = gemm(rt, {
    M, N, K,
    a: xv, sa: view(M, K),
    b: f32(w, 'loraMatmul W'), sb: view(K, N, opts.transW),
    bias: opts.bias ? f32(opts.bias, 'loraMatmul bias') : undefined,
    lora: { p: h, sp: view(M, r), q: f32(b, 'loraMatmul B'), sq: view(N, r), r, s: opts.scaling },
  });
  return new Tensor('float32', y, [...lead, N]);
}

export function loraMatmulBackward(rt: GpuJsRuntime, x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions): LoraGrads {
  const op = 'loraMatmulBackward';
  const shape = loraShape(op, x, w, a, b, opts);
  checkDy(op, dy, shape);
  const { M, K, N, r, dropout } = shape;
  const s = opts.scaling;
  const mask = dropout && maskScale(dropout, M * K);
  const xd = applyMask(f32(x, `${op} x`), mask);
  const av = f32(a, `${op} A`);
  const g = f32(dy, `${op} dy`);
  const wv = f32(w, `${op} W`);
  const h = gemm(rt, { M, N: r, K, a: xd, sa: view(M, K), b: av, sb: view(K, r, true) }); // (M, r)
  const gb = gemm(rt, { M, N: r, K: N, a: g, sa: view(M, N), b: f32(b, `${op} B`), sb: view(N, r) }); // dy·B (M, r)
  // dx = dy·Wᵀ + s·(dy·B)·A [⊙ mask]: Wᵀ read as (N, K); A (r, K) is read as (K, r) by
  // the fused low-rank term, or as the plain (r, K) operand when the mask must come between.
  const dyW = { M, N: K, K: N, a: g, sa: view(M, N), b: wv, sb: view(N, K, !opts.transW) };
  let dx: Float32Array;
  if (!mask) {
    dx = gemm(rt, { ...dyW, lora: { p: gb, sp: view(M, r), q: av, sq: view(K, r, true), r, s } });
  } else {
    dx = gemm(rt, dyW);
    const low = gemm(rt, { M, N: K, K: r, a: gb, sa: view(M, r), b: av, sb: view(r, K) }); // (M, K)
    for (let i = 0; i < dx.length; i++) dx[i] += s * low[i] * mask[i];
  }
  // dA = s·(dy·B)ᵀ·xd: (r, M)·(M, K);  dB = s·dyᵀ·h: (N, M)·(M, r)
  const dA = gemm(rt, { M: r, N: K, K: M, a: gb, sa: view(r, M, true), b: xd, sb: view(M, K), alpha: s });
  const dB = gemm(rt, { M: N, N: r, K: M, a: g, sa: view(N, M, true), b: h, sb: view(M, r), alpha: s });
  return {
    dx: new Tensor('float32', dx, x.dims),
    dA: new Tensor('float32', dA, [r, K]),
    dB: new Tensor('float32', dB, [N, r]),
  };
}
