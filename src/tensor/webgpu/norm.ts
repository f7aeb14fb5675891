/**
 * webgpu launchers: LayerNorm and RMSNorm over the last axis, forward (`kernels/norm.wgsl`)
 * and backward (`kernels/norm_backward.wgsl` for dx, `kernels/norm_param_grad.wgsl` for
 * dGamma / dBeta). One kernel per step serves both norms through the `RMS` override.
 * Semantics and shape checks: src/tensor/cpu/norm.ts.
 *
 * With a residual the forward normalizes s = x + residual and returns it as `sum`; the
 * backward takes s as its `x` and its dx is dL/ds, which the caller gives to both addends.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch, releaseAfterSubmit } from '../../gpu/launch.js';
import type { NormResult } from '../backend.js';
import type { Tensor } from '../tensor.js';
import normSrc from '../../../kernels/norm.wgsl';
import normBackwardSrc from '../../../kernels/norm_backward.wgsl';
import paramGradSrc from '../../../kernels/norm_param_grad.wgsl';
import { checkBackward, normShape } from '../cpu/norm.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

/** norm_param_grad: columns per workgroup (one thread each). */
const COL_WG = 64;
/** At most this many row chunks, so `finish` sums a short column. */
const MAX_CHUNKS = 128;
const MIN_CHUNK_ROWS = 32;

/**
 * Threads per row: a power of two near C / 16, 32..256 (C = 768 → 64, C = 4096 → 256), so
 * a thread strides ≤ 16 values up to C = 4096. A warp or two per row is what fast LayerNorms
 * use for C ≤ 1024; more threads only add tree levels and barriers (SwiftShader, which
 * runs a workgroup's barriers as fibre switches, is 15× slower at 256 than 32 for C = 768).
 */
function rowWorkgroup(C: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(C / 16))));
}

/** A scratch device buffer for a binding the chosen variant never touches, or a temporary. */
function scratch(ctx: GpuContext, bytes: number): GPUBuffer {
  const b = ctx.pool.acquire(Math.max(4, bytes));
  releaseAfterSubmit(ctx, b);
  return b;
}

const dev = (t: Tensor) => gpuStorage(t).buffer;

interface ForwardArgs {
  op: string;
  rms: boolean;
  x: Tensor;
  gamma: Tensor;
  beta?: Tensor;
  eps: number;
  residual?: Tensor;
}

function normForward(ctx: GpuContext, a: ForwardArgs): NormResult {
  const { op, rms, x, gamma, beta, residual } = a;
  const { rows, C } = normShape(op, x, gamma, beta, residual);
  const y = out(ctx, x.dims);
  const mean = rms ? undefined : out(ctx, [rows]);
  const invStd = out(ctx, [rows]);
  const sum = residual ? out(ctx, x.dims) : undefined;
  if (rows === 0) return { y, mean, invStd, sum };
  const xb = buf(ctx, x, `${op} x`);
  const gb = buf(ctx, gamma, `${op} gamma`);
  launch(ctx, {
    kernel: { name: 'norm', code: normSrc },
    constants: { RMS: +rms, HAS_RES: +!!residual, HAS_BETA: +!!beta, WG: rowWorkgroup(C) },
    buffers: [
      xb,
      residual ? buf(ctx, residual, `${op} residual`) : xb, // unread without a residual
      gb,
      beta ? buf(ctx, beta, `${op} beta`) : gb, // unread without beta
      dev(y),
      mean ? dev(mean) : scratch(ctx, 4),
      dev(invStd),
      sum ? dev(sum) : scratch(ctx, 4),
    ],
    uniforms: [rows, C, { f32: a.eps }],
    workgroups: rows,
  });
  return { y, mean, invStd, sum };
}

export function layerNorm(ctx: GpuContext, x: Tensor, gamma: Tensor, beta: Tensor | undefined, eps: number, residual?: Tensor): NormResult {
  return normForward(ctx, { op: 'layerNorm', rms: false, x, gamma, beta, eps, residual });
}

export function rmsNorm(ctx: GpuContext, x: Tensor, gamma: Tensor, eps: number, residual?: Tensor): NormResult {
  return normForward(ctx, { op: 'rmsNorm', rms: true, x, gamma, eps, residual });
}

interface BackwardArgs {
  op: string;
  x: Tensor;
  gamma: Tensor;
  /** Absent for RMSNorm. */
  mean?: Tensor;
  invStd: Tensor;
  dy: Tensor;
}

function normBackward(ctx: GpuContext, a: BackwardArgs): { dx: Tensor; dGamma: Tensor; dBeta: Tensor | undefined } {
  const { op, x, gamma, mean, invStd, dy } = a;
  const rms = !mean;
  const { rows, C } = normShape(op, x, gamma);
  checkBackward(op, x, rows, dy, mean ? { mean, invStd } : { invStd });
  const dx = out(ctx, x.dims);
  const dGamma = out(ctx, [C]);
  const dBeta = rms ? undefined : out(ctx, [C]);
  // No early return for rows = 0: the kernels then write dGamma = dBeta = 0.
  // Host inputs are uploaded once and shared by both kernels.
  const xb = buf(ctx, x, `${op} x`);
  const sb = buf(ctx, invStd, `${op} invStd`);
  const mb = mean ? buf(ctx, mean, `${op} mean`) : sb; // unread for RMSNorm
  const db = buf(ctx, dy, `${op} dy`);
  launch(ctx, {
    kernel: { name: 'norm_backward', code: normBackwardSrc },
    constants: { RMS: +rms, WG: rowWorkgroup(C) },
    buffers: [xb, buf(ctx, gamma, `${op} gamma`), mb, sb, db, dev(dx)],
    uniforms: [rows, C],
    workgroups: rows,
  });
  paramGrads(ctx, { rms, rows, C, xb, mb, sb, db, dGamma: dev(dGamma), dBeta: dBeta ? dev(dBeta) : scratch(ctx, 4) });
  return { dx, dGamma, dBeta };
}

/** dGamma (and dBeta) by the two-stage column reduction of kernels/norm_param_grad.wgsl. */
function paramGrads(
  ctx: GpuContext,
  p: { rms: boolean; rows: number; C: number; xb: GPUBuffer; mb: GPUBuffer; sb: GPUBuffer; db: GPUBuffer; dGamma: GPUBuffer; dBeta: GPUBuffer },
): void {
  // Chunks depend on the row count only, so the summation order is fixed: deterministic.
  const chunk = Math.max(MIN_CHUNK_ROWS, Math.ceil(p.rows / MAX_CHUNKS));
  const nChunks = Math.max(1, Math.ceil(p.rows / chunk));
  const colGroups = Math.ceil(p.C / COL_WG);
  const part = ctx.pool.acquire(nChunks * p.C * 8); // (nChunks, C) vec2
  const common = {
    constants: { RMS: +p.rms, WG: COL_WG },
    buffers: [p.xb, p.mb, p.sb, p.db, part, p.dGamma, p.dBeta],
    uniforms: [p.rows, p.C, chunk, nChunks],
  };
  const kernel = (entryPoint: string) => ({ name: 'norm_param_grad', code: paramGradSrc, entryPoint });
  launch(ctx, { kernel: kernel('partials'), ...common, workgroups: [colGroups, nChunks, 1] });
  launch(ctx, { kernel: kernel('finish'), ...common, workgroups: [colGroups, 1, 1] });
  releaseAfterSubmit(ctx, part); // after both launches: a flush between them must not free it early
}

export function layerNormBackward(ctx: GpuContext, x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  const r = normBackward(ctx, { op: 'layerNormBackward', x, gamma, mean, invStd, dy });
  return { dx: r.dx, dGamma: r.dGamma, dBeta: r.dBeta! };
}

export function rmsNormBackward(ctx: GpuContext, x: Tensor, gamma: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor } {
  const { dx, dGamma } = normBackward(ctx, { op: 'rmsNormBackward', x, gamma, invStd, dy });
  return { dx, dGamma };
}
