/**
 * cpu reference: cross-entropy of logits (N, V) (or (..., V) with labels (...)) against
 * integer labels, as torch.nn.functional.cross_entropy with reduction='mean':
 * the mean over rows whose label is not ignoreIndex. A batch with every row ignored
 * gives loss 0 and zero gradients (torch gives NaN; a padded micro-batch must not).
 */
import type { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { f32, f32Tensor, toHost } from './common.js';

export const DEFAULT_IGNORE_INDEX = -100;

export interface CeGeometry {
  rows: number;
  v: number;
}

/** Checks logits (..., V) float32 against labels (...) int32/int64; shared with webgpu. */
export function ceGeometry(logits: Tensor, labels: Tensor, what: string): CeGeometry {
  if (logits.dtype !== 'float32') throw new Error(`${what}: logits must be float32, got ${logits.dtype} ${fmtDims(logits.dims)}`);
  if (labels.dtype !== 'int32' && labels.dtype !== 'int64') {
    throw new Error(`${what}: labels must be int32 (or int64), got ${labels.dtype} ${fmtDims(labels.dims)}`);
  }
  const v = logits.dims[logits.rank - 1];
  if (logits.rank < 2 || v === 0) throw new Error(`${what}: logits must be (N, V) with V ≥ 1, got ${fmtDims(logits.dims)}`);
  const rows = logits.size / v;
  if (labels.size !== rows) {
    throw new Error(`${what}: labels ${fmtDims(labels.dims)} must have one entry per logits row: expected ${fmtDims(logits.dims.slice(0, -1))}`);
  }
  return { rows, v };
}

function labelValues(labels: Tensor): Int32Array {
  const d = toHost(labels).hostData();
  return d instanceof Int32Array ? d : Int32Array.from(d as BigInt64Array, (x) => Number(x));
}

/** Index of the kept label of row r, or -1 for an ignored row; throws on labels outside [0, V). */
function target(labels: Int32Array, r: number, v: number, ignoreIndex: number, what: string): number {
  const l = labels[r];
  if (l === ignoreIndex) return -1;
  if (l < 0 || l >= v) throw new Error(`${what}: label ${l} at row ${r} is outside [0, ${v}) and is not ignoreIndex ${ignoreIndex}`);
  return l;
}

/** log Σ exp over one row, max-subtracted. */
function logSumExp(xs: Float32Array, base: number, v: number): number {
  let m = -Infinity;
  for (let j = 0; j < v; j++) m = Math.max(m, xs[base + j]);
  let s = 0;
  for (let j = 0; j < v; j++) s += Math.exp(xs[base + j] - m);
  return m + Math.log(s);
}

export function crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex = DEFAULT_IGNORE_INDEX): Tensor {
  const { rows, v } = ceGeometry(logits, labels, 'crossEntropy');
  const xs = f32(logits, 'crossEntropy logits');
  const ls = labelValues(labels);
  let sum = 0;
  let kept = 0;
  for (let r = 0; r < rows; r++) {
    const l = target(ls, r, v, ignoreIndex, 'crossEntropy');
    if (l < 0) continue;
    sum += logSumExp(xs, r * v, v) - xs[r * v + l];
    kept++;
  }
  return f32Tensor(Float32Array.of(kept > 0 ? sum / kept : 0), [1]);
}

/** dlogits = (softmax − onehot) · dLoss / kept; 0 on ignored rows. */
export function crossEntropyBackward(logits: Tensor, labels: Tensor, dLoss: Tensor, ignoreIndex = DEFAULT_IGNORE_INDEX): Tensor {
  const { rows, v } = ceGeometry(logits, labels, 'crossEntropyBackward');
  const xs = f32(logits, 'crossEntropyBackward logits');
  const g = f32(dLoss, 'crossEntropyBackward dLoss');
  if (g.length !== 1) throw new Error(`crossEntropyBackward: dLoss must be a (1) tensor, got ${fmtDims(dLoss.dims)}`);
  const ls = labelValues(labels);
  const targets = Array.from({ length: rows }, (_, r) => target(ls, r, v, ignoreIndex, 'crossEntropyBackward'));
  const kept = targets.filter((l) => l >= 0).length;
  const dx = new Float32Array(xs.length);
  if (kept === 0) return f32Tensor(dx, logits.dims);
  const scale = g[0] / kept;
  for (let r = 0; r < rows; r++) {
    if (targets[r] < 0) continue;
    const base = r * v;
    const lse = logSumExp(xs, base, v);
    for (let j = 0; j < v; j++) dx[base + j] = (Math.exp(xs[base + j] - lse) - (j === targets[r] ? 1 : 0)) * scale;
  }
  return f32Tensor(dx, logits.dims);
}
