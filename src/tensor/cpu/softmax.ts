/**
 * cpu reference: softmax over the last axis with optional causal and key-padding masks,
 * and its backward. Float64 math, float32 store.
 *
 * Masked positions get probability 0. A row with no unmasked position (or whose
 * unmasked inputs are all −∞) is all zeros, not NaN: a fully padded query must not
 * poison the batch. The webgpu kernels follow the same rule.
 */
import type { SoftmaxOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { f32, f32Tensor, toHost } from './common.js';

/** Row layout of a softmax input, shared with the webgpu launcher. */
export interface SoftmaxGeometry {
  rows: number;
  /** Row length (Tk). */
  t: number;
  /** Query rows per (batch, head) block: dims[-2], or 1 for rank 1. */
  tq: number;
  /** Rows per key-mask batch entry (H·Tq); keyMask row b serves rows [b·rowsPerB, (b+1)·rowsPerB). */
  rowsPerB: number;
  causal: boolean;
}

export const KEY_MASK_DTYPES = ['bool', 'int32', 'int64', 'float32'] as const;

export function softmaxGeometry(x: Tensor, opts: SoftmaxOptions, what: string): SoftmaxGeometry {
  if (x.rank === 0) throw new Error(`${what}: x must have at least one axis, got a scalar`);
  const t = x.dims[x.rank - 1];
  const rows = t === 0 ? 0 : x.size / t;
  const tq = x.rank >= 2 ? x.dims[x.rank - 2] : 1;
  let rowsPerB = rows;
  const km = opts.keyMask;
  if (km) {
    if (!(KEY_MASK_DTYPES as readonly string[]).includes(km.dtype)) {
      throw new Error(`${what}: keyMask must be ${KEY_MASK_DTYPES.join(' / ')}, got ${km.dtype} ${fmtDims(km.dims)}`);
    }
    const b = km.dims[0];
    if (km.rank !== 2 || km.dims[1] !== t || b === 0 || rows % b !== 0 || (rows / b) % tq !== 0) {
      throw new Error(
        `${what}: keyMask ${fmtDims(km.dims)} does not fit x ${fmtDims(x.dims)} read as (B, H, Tq, Tk): expected (B, ${t}) with B dividing the rows`,
      );
    }
    if (x.rank >= 4 && x.dims[0] !== b) {
      throw new Error(`${what}: keyMask ${fmtDims(km.dims)} has B = ${b} but x ${fmtDims(x.dims)} has B = ${x.dims[0]}`);
    }
    rowsPerB = rows / b;
  }
  return { rows, t, tq, rowsPerB, causal: !!opts.causal };
}

/** keyMask values as 0/1 numbers (any nonzero keeps). */
function keepValues(km: Tensor): Uint8Array {
  const d = toHost(km).hostData() as ArrayLike<number | bigint>;
  const out = new Uint8Array(km.size);
  for (let i = 0; i < out.length; i++) out[i] = Number(d[i]) !== 0 ? 1 : 0;
  return out;
}

export function softmax(x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  const g = softmaxGeometry(x, opts, 'softmax');
  const xs = f32(x, 'softmax x');
  const keepKey = opts.keyMask ? keepValues(opts.keyMask) : null;
  const ys = new Float32Array(xs.length);
  const e = new Float64Array(g.t);
  for (let r = 0; r < g.rows; r++) {
    const base = r * g.t;
    // Keys j > i + (Tk − Tq) are in the future of query i (KV cache of Tk − Tq entries).
    const last = g.causal ? (r % g.tq) + g.t - g.tq : g.t - 1;
    const km = keepKey ? Math.floor(r / g.rowsPerB) * g.t : 0;
    const keep = (j: number) => j <= last && (!keepKey || keepKey[km + j] === 1);
    let m = -Infinity;
    for (let j = 0; j < g.t; j++) if (keep(j)) m = Math.max(m, xs[base + j]);
    if (m === -Infinity) continue; // nothing to attend: zeros
    let s = 0;
    for (let j = 0; j < g.t; j++) s += e[j] = keep(j) ? Math.exp(xs[base + j] - m) : 0;
    for (let j = 0; j < g.t; j++) ys[base + j] = e[j] / s;
  }
  return f32Tensor(ys, x.dims);
}

/** dx = y ⊙ (dy − Σ dy ⊙ y) over the last axis. */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  if (!sameDims(y.dims, dy.dims)) throw new Error(`softmaxBackward: dy ${fmtDims(dy.dims)} must match y ${fmtDims(y.dims)}`);
  if (y.rank === 0) throw new Error('softmaxBackward: y must have at least one axis, got a scalar');
  const ys = f32(y, 'softmaxBackward y');
  const g = f32(dy, 'softmaxBackward dy');
  const t = y.dims[y.rank - 1];
  const dx = new Float32Array(ys.length);
  for (let base = 0; t > 0 && base < ys.length; base += t) {
    let dot = 0;
    for (let j = 0; j < t; j++) dot += g[base + j] * ys[base + j];
    for (let j = 0; j < t; j++) dx[base + j] = ys[base + j] * (g[base + j] - dot);
  }
  return f32Tensor(dx, y.dims);
}
