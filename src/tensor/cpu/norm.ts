/**
 * cpu reference: LayerNorm and RMSNorm over the last axis, forward and backward.
 * Float64 math per row, float32 on store.
 *
 * LayerNorm is torch.nn.LayerNorm / ONNX LayerNormalization: biased variance, eps inside
 * the square root. RMSNorm is Llama's: x · 1/√(mean(x²) + eps) · gamma.
 *
 * With a residual the normalized input is s = x + residual (returned as `sum`). The
 * backward then takes s as its `x`, and its dx is dL/ds: the caller routes that one
 * gradient to both addends.
 */
import type { NormResult } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { f32, f32Tensor } from './common.js';

/** (rows, C) view of x: C is the last axis. Checks gamma (C), beta (C), residual (x's dims). */
export function normShape(op: string, x: Tensor, gamma: Tensor, beta?: Tensor, residual?: Tensor): { rows: number; C: number } {
  if (x.rank < 1) throw new Error(`${op}: x must have at least one axis, got ${fmtDims(x.dims)}`);
  const C = x.dims[x.rank - 1];
  if (C < 1) throw new Error(`${op}: the normalized (last) axis of x ${fmtDims(x.dims)} must be ≥ 1`);
  if (!sameDims(gamma.dims, [C])) throw new Error(`${op}: gamma must be ${fmtDims([C])} for x ${fmtDims(x.dims)}, got ${fmtDims(gamma.dims)}`);
  if (beta && !sameDims(beta.dims, [C])) throw new Error(`${op}: beta must be ${fmtDims([C])} for x ${fmtDims(x.dims)}, got ${fmtDims(beta.dims)}`);
  if (residual && !sameDims(residual.dims, x.dims)) {
    throw new Error(`${op}: residual must have x's dims ${fmtDims(x.dims)}, got ${fmtDims(residual.dims)}`);
  }
  return { rows: x.size / C, C };
}

/** Checks the saved statistics (rows) and dy (x's dims) given to a backward. */
export function checkBackward(op: string, x: Tensor, rows: number, dy: Tensor, stats: Record<string, Tensor>): void {
  if (!sameDims(dy.dims, x.dims)) throw new Error(`${op}: dy must have x's dims ${fmtDims(x.dims)}, got ${fmtDims(dy.dims)}`);
  for (const [name, t] of Object.entries(stats)) {
    if (t.size !== rows) throw new Error(`${op}: ${name} must hold one value per row (${rows}), got ${fmtDims(t.dims)}`);
  }
}

/** s = x + residual (or x itself), float32 as the device computes it. */
function addResidual(op: string, x: Tensor, residual: Tensor | undefined): Float32Array {
  const xs = f32(x, `${op} x`);
  if (!residual) return xs;
  const rs = f32(residual, `${op} residual`);
  const s = new Float32Array(xs.length);
  for (let i = 0; i < s.length; i++) s[i] = xs[i] + rs[i];
  return s;
}

export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor | undefined, eps: number, residual?: Tensor): NormResult {
  const { rows, C } = normShape('layerNorm', x, gamma, beta, residual);
  const s = addResidual('layerNorm', x, residual);
  const g = f32(gamma, 'layerNorm gamma');
  const b = beta ? f32(beta, 'layerNorm beta') : null;
  const y = new Float32Array(s.length);
  const mean = new Float32Array(rows);
  const invStd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += s[o + c];
    const mu = sum / C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += (s[o + c] - mu) ** 2;
    const rstd = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y[o + c] = (s[o + c] - mu) * rstd * g[c] + (b ? b[c] : 0);
    mean[r] = mu;
    invStd[r] = rstd;
  }
  return {
    y: f32Tensor(y, x.dims),
    mean: f32Tensor(mean, [rows]),
    invStd: f32Tensor(invStd, [rows]),
    sum: residual ? f32Tensor(s, x.dims) : undefined,
  };
}

export function rmsNorm(x: Tensor, gamma: Tensor, eps: number, residual?: Tensor): NormResult {
  const { rows, C } = normShape('rmsNorm', x, gamma, undefined, residual);
  const s = addResidual('rmsNorm', x, residual);
  const g = f32(gamma, 'rmsNorm gamma');
  const y = new Float32Array(s.length);
  const invStd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let sq = 0;
    for (let c = 0; c < C; c++) sq += s[o + c] ** 2;
    const rrms = 1 / Math.sqrt(sq / C + eps);
    for (let c = 0; c < C; c++) y[o + c] = s[o + c] * rrms * g[c];
    invStd[r] = rrms;
  }
  return { y: f32Tensor(y, x.dims), invStd: f32Tensor(invStd, [rows]), sum: residual ? f32Tensor(s, x.dims) : undefined };
}

/**
 * With x̂ = (x − mean)·invStd and ĝ = dy·gamma (per row, means over C):
 * dx = invStd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)); dGamma = Σ_rows dy·x̂; dBeta = Σ_rows dy.
 * `x` is the normalized input: the `sum` output when the forward had a residual.
 */
export function layerNormBackward(x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  const { rows, C } = normShape('layerNormBackward', x, gamma);
  checkBackward('layerNormBackward', x, rows, dy, { mean, invStd });
  const r = normBackward(false, rows, C, f32(x, 'layerNormBackward x'), f32(gamma, 'layerNormBackward gamma'),
    f32(mean, 'layerNormBackward mean'), f32(invStd, 'layerNormBackward invStd'), f32(dy, 'layerNormBackward dy'));
  return { dx: f32Tensor(r.dx, x.dims), dGamma: f32Tensor(r.dGamma, [C]), dBeta: f32Tensor(r.dBeta, [C]) };
}

/** As layerNormBackward with mean = 0 and no mean(ĝ) term: dx = invStd·(ĝ − x̂·mean(ĝ·x̂)). */
export function rmsNormBackward(x: Tensor, gamma: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor } {
  const { rows, C } = normShape('rmsNormBackward', x, gamma);
  checkBackward('rmsNormBackward', x, rows, dy, { invStd });
  const r = normBackward(true, rows, C, f32(x, 'rmsNormBackward x'), f32(gamma, 'rmsNormBackward gamma'),
    null, f32(invStd, 'rmsNormBackward invStd'), f32(dy, 'rmsNormBackward dy'));
  return { dx: f32Tensor(r.dx, x.dims), dGamma: f32Tensor(r.dGamma, [C]) };
}

function normBackward(
  rms: boolean, rows: number, C: number,
  x: Float32Array, gamma: Float32Array, mean: Float32Array | null, invStd: Float32Array, dy: Float32Array,
): { dx: Float32Array; dGamma: Float32Array; dBeta: Float32Array } {
  const dx = new Float32Array(x.length);
  const dGamma = new Float64Array(C);
  const dBeta = new Float64Array(C);
  const xhat = new Float64Array(C);
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    const mu = mean ? mean[r] : 0;
    const rstd = invStd[r];
    let sumG = 0;
    let sumGX = 0;
    for (let c = 0; c < C; c++) {
      xhat[c] = (x[o + c] - mu) * rstd;
      const gh = dy[o + c] * gamma[c];
      sumG += gh;
      sumGX += gh * xhat[c];
      dGamma[c] += dy[o + c] * xhat[c];
      dBeta[c] += dy[o + c];
    }
    const meanG = rms ? 0 : sumG / C;
    const meanGX = sumGX / C;
    for (let c = 0; c < C; c++) dx[o + c] = rstd * (dy[o + c] * gamma[c] - meanG - xhat[c] * meanGX);
  }
  return { dx, dGamma: Float32Array.from(dGamma), dBeta: Float32Array.from(dBeta) };
}
