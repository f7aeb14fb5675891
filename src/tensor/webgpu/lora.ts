/**
 * webgpu launchers: Backend.loraMatmul and loraMatmulBackward. The adapter is never
 * merged into W; the LoRA terms ride on a thin GEMM and the fused kernel's extra depth:
 *
 *   forward   hs = s·dropout(x)·Aᵀ (M, r)               kernels/lora_thin.wgsl
 *             y  = x·W + bias + hs·Bᵀ                    kernels/lora_matmul.wgsl
 *   backward  hs = s·dropout(x)·Aᵀ,  gs = s·dy·B (M, r)  lora_thin ×2
 *             dx = dy·Wᵀ + (gs·A) ⊙ mask/(1−p)           lora_matmul (DROP_OUT)
 *             dA = gsᵀ·dropout(x) (r, K)                 lora_thin (+ lora_split_sum)
 *             dB = dyᵀ·hs (N, r)                         lora_thin (+ lora_split_sum)
 *
 * Scaling, shapes, dropout (on / off, p, seed) and the thin kernels' output layout are
 * uniforms; pipelines are keyed by operand layouts, vec4 flags, tile shapes and, for
 * lora_thin only, the rank bucket (r rounded up to 4, 8, 16, 32, 64). Changing the
 * scaling, switching dropout, or swapping in an adapter of the same rank bucket compiles
 * nothing.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { LoraGrads, LoraOptions } from '../backend.js';
import { checkDy, loraShape } from '../cpu/lora.js';
import type { DropoutParams } from '../dropout.js';
import type { Tensor } from '../tensor.js';
import thinSrc from '../../../kernels/lora_thin.wgsl';
import splitSumSrc from '../../../kernels/lora_split_sum.wgsl';
import fusedSrc from '../../../kernels/lora_matmul.wgsl';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const thinKernel = { name: 'lora_thin', code: thinSrc };
const splitSumKernel = { name: 'lora_split_sum', code: splitSumSrc };
const fusedKernel = { name: 'lora_matmul', code: fusedSrc };

/**
 * Workgroups a thin GEMM aims for (smaller tiles first, then a depth split): enough to
 * fill a GPU's SMs. SwiftShader runs workgroups on 2 CPU cores, where each workgroup
 * costs a fixed few ms (measured): there, fewer and larger ones are faster.
 */
const targetGroups = (ctx: GpuContext) => (ctx.info.isSoftware ? 4 : 128);
/** A depth chunk is at least this long, so the split-sum pass stays cheap. */
const MIN_CHUNK = 128;

/** A mask that keeps everything with scale 1: the backward's dx without dropout. */
const NO_DROP: DropoutParams = { p: 0, key: 0, threshold: 0, scale: 1 };

const f32 = (v: number) => ({ f32: v });
const u32 = (b: boolean) => (b ? 1 : 0);

/** The kernels bind operands as array<vec4<f32>>: pooled buffers are multiples of 16 bytes. */
function vec4Buf(ctx: GpuContext, t: Tensor, what: string): GPUBuffer {
  const b = buf(ctx, t, what);
  if (b.size % 16 !== 0) throw new Error(`${what}: the buffer of ${t} is ${b.size} bytes, not a multiple of 16 (not from the buffer pool?)`);
  return b;
}

/** r rounded up to a power of two ≥ 4: the tile width of the rank dimension. */
export function rankBucket(r: number): number {
  return Math.max(4, 2 ** Math.ceil(Math.log2(r)));
}

/**
 * lora_thin's tile: TR rows with 128 ≤ TR·RB (at most 32 lanes per block), the largest
 * that still gives `target` tiles, else the smallest. The staged depth TD is 32, or 16
 * for tiles over 1024 elements, so the workgroup memory stays ≤ 14 KiB (of 16 KiB).
 */
function thinTile(R: number, RB: number, target: number): { TR: number; TD: number } {
  const allowed = [16, 32, 64].filter((tr) => tr * RB >= 128);
  let TR = allowed[0];
  for (const tr of allowed) if (Math.ceil(R / tr) >= target) TR = tr;
  return { TR, TD: TR * RB > 1024 ? 16 : 32 };
}

interface Thin {
  /** P stored (R, D), or (D, R) with transP. */
  p: GPUBuffer;
  /** Q stored (D, r), or (r, D) with qJD. */
  q: GPUBuffer;
  R: number;
  D: number;
  r: number;
  transP: boolean;
  qJD: boolean;
  /** Write (r, R) instead of (R, r). */
  outT: boolean;
  alpha: number;
  /** Dropout on P's elements. */
  drop: DropoutParams | null;
}

/** out = alpha · P'·Q' (R, r) or its transpose, splitting the depth over workgroups when R alone gives few. */
function thin(ctx: GpuContext, t: Thin): Tensor {
  const RB = rankBucket(t.r);
  const target = targetGroups(ctx);
  const { TR, TD } = thinTile(t.R, RB, target);
  const tiles = Math.ceil(t.R / TR);
  const wanted = Math.min(Math.ceil(target / tiles), Math.ceil(t.D / MIN_CHUNK));
  const chunk = Math.max(TD, Math.ceil(Math.ceil(t.D / Math.max(1, wanted)) / TD) * TD);
  const chunks = Math.max(1, Math.ceil(t.D / chunk));
  const n = t.R * t.r;
  const result = out(ctx, t.outT ? [t.r, t.R] : [t.R, t.r]);
  const dst = chunks === 1 ? result : out(ctx, [chunks, n]);
  launch(ctx, {
    kernel: thinKernel,
    constants: {
      TR, RB, TD,
      TRANS_P: u32(t.transP), Q_JD: u32(t.qJD),
      VEC_P: u32((t.transP ? t.R : t.D) % 4 === 0),
      VEC_Q: u32(t.qJD && t.D % 4 === 0), // rows of length r are read by element (see the kernel)
    },
    buffers: [t.p, t.q, gpuStorage(dst).buffer],
    uniforms: [
      t.R, t.D, t.r, chunk,
      tiles, tiles * chunks, f32(t.alpha), u32(t.outT),
      u32(t.drop !== null), t.drop?.key ?? 0, t.drop?.threshold ?? 0, f32(t.drop?.scale ?? 1),
    ],
    workgroups: tiles * chunks,
  });
  if (dst !== result) {
    launch(ctx, {
      kernel: splitSumKernel,
      constants: { WG: 256 },
      buffers: [gpuStorage(dst).buffer, gpuStorage(result).buffer],
      uniforms: [n, chunks],
      workgroups: Math.ceil(n / 256),
    });
    dst.dispose(); // recorded passes keep their order; the pool may reuse it at once
  }
  return result;
}

interface Fused {
  /** Left operand (M, K) row-major. */
  x: GPUBuffer;
  /** op(W) (K, N): stored (K, N), or (N, K) with transW. */
  w: GPUBuffer;
  transW: boolean;
  /** Scaled low-rank left factor (M, r). */
  h: GPUBuffer;
  /** op(Q) (r, N): stored (r, N), or (N, r) with transQ. */
  q: GPUBuffer;
  transQ: boolean;
  M: number;
  N: number;
  K: number;
  r: number;
  bias: GPUBuffer | null;
  /**
   * Mask the low-rank term of each output element (the dx of a dropout forward). A
   * backward passes `NO_DROP` rather than null without dropout: one pipeline either way.
   */
  drop: DropoutParams | null;
  out: Tensor;
}

/** out = x·op(W) (+ bias) + [mask ⊙] h·op(Q), kernels/lora_matmul.wgsl. */
function fused(ctx: GpuContext, f: Fused): void {
  // 64×64 tiles; a 16-row tile when M is small, as Backend.matmul does.
  const tile = f.M <= 16 ? { WX: 16, WY: 4, TK: 16 } : { WX: 16, WY: 16, TK: 16 };
  launch(ctx, {
    kernel: fusedKernel,
    constants: {
      ...tile,
      TRANS_W: u32(f.transW), TRANS_Q: u32(f.transQ),
      VEC_X: u32(f.K % 4 === 0),
      VEC_W: u32((f.transW ? f.K : f.N) % 4 === 0),
      VEC_Q: u32(!f.transQ && f.N % 4 === 0), // rows of length r are read by element (see the kernel)
      DROP_OUT: u32(f.drop !== null),
    },
    buffers: [f.x, f.w, f.h, f.q, f.bias ?? f.x, gpuStorage(f.out).buffer],
    uniforms: [
      f.M, f.N, f.K, f.r,
      u32(f.bias !== null), f.drop?.key ?? 0, f.drop?.threshold ?? 0, f32(f.drop?.scale ?? 1),
    ],
    workgroups: [Math.ceil(f.N / (4 * tile.WX)), Math.ceil(f.M / (4 * tile.WY)), 1],
  });
}

export function loraMatmul(ctx: GpuContext, x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor {
  const op = 'loraMatmul';
  const s = loraShape(op, x, w, a, b, opts);
  const { M, K, N, r } = s;
  const xb = vec4Buf(ctx, x, `${op} x`);
  const wb = vec4Buf(ctx, w, `${op} W`);
  const ab = vec4Buf(ctx, a, `${op} A`);
  const bb = vec4Buf(ctx, b, `${op} B`);
  const bias = opts.bias ? buf(ctx, opts.bias, `${op} bias`) : null;
  const y = out(ctx, [...s.lead, N]);
  if (y.size === 0) return y;
  // hs (M, r) = s·dropout(x)·Aᵀ: A (r, K) is Q stored (r, D).
  const hs = thin(ctx, { p: xb, q: ab, R: M, D: K, r, transP: false, qJD: true, outT: false, alpha: opts.scaling, drop: s.dropout });
  // y = x·W + bias + hs·Bᵀ: B (N, r) is op(Q) (r, N) stored transposed.
  fused(ctx, { x: xb, w: wb, transW: !!opts.transW, h: gpuStorage(hs).buffer, q: bb, transQ: true, M, N, K, r, bias, drop: null, out: y });
  hs.dispose();
  return y;
}

export function loraMatmulBackward(ctx: GpuContext, x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions): LoraGrads {
  const op = 'loraMatmulBackward';
  const s = loraShape(op, x, w, a, b, opts);
  checkDy(op, dy, s);
  const { M, K, N, r } = s;
  const xb = vec4Buf(ctx, x, `${op} x`);
  const wb = vec4Buf(ctx, w, `${op} W`);
  const ab = vec4Buf(ctx, a, `${op} A`);
  const bb = vec4Buf(ctx, b, `${op} B`);
  const gb = vec4Buf(ctx, dy, `${op} dy`);
  const sc = opts.scaling;
  // (M, r) factors, both already scaled by s.
  const hs = thin(ctx, { p: xb, q: ab, R: M, D: K, r, transP: false, qJD: true, outT: false, alpha: sc, drop: s.dropout });
  const gs = thin(ctx, { p: gb, q: bb, R: M, D: N, r, transP: false, qJD: false, outT: false, alpha: sc, drop: null });
  const [hb, gsb] = [gpuStorage(hs).buffer, gpuStorage(gs).buffer];
  // dx = dy·Wᵀ + (gs·A) ⊙ mask: op(W) is Wᵀ (N, K), stored (N, K) exactly when transW.
  const dx = out(ctx, x.dims);
  if (dx.size > 0) {
    const drop = s.dropout ?? NO_DROP;
    fused(ctx, { x: gb, w: wb, transW: !opts.transW, h: gsb, q: ab, transQ: false, M, N: K, K: N, r, bias: null, drop, out: dx });
  }
  // dA (r, K) = gsᵀ·dropout(x): rows of P'= xᵀ are K, depth M; written transposed.
  const dA = thin(ctx, { p: xb, q: gsb, R: K, D: M, r, transP: true, qJD: false, outT: true, alpha: 1, drop: s.dropout });
  // dB (N, r) = dyᵀ·hs.
  const dB = thin(ctx, { p: gb, q: hb, R: N, D: M, r, transP: true, qJD: false, outT: false, alpha: 1, drop: null });
  hs.dispose();
  gs.dispose();
  return { dx, dA, dB };
}
