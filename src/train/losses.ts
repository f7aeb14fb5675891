/**
 * Losses as Hugging Face computes them, each returning the loss and dL/dlogits, so the
 * tape can start the backward from the logits.
 *   causal LM: logits[:, :-1] predict labels[:, 1:]; mean cross-entropy over positions
 *              whose label is not -100 (prompt and padding tokens are masked that way);
 *   sequence classification: cross-entropy of (B, C) logits against class ids (B);
 *   regression (num_labels = 1, float labels): mean squared error.
 */
import type { Backend } from '../tensor/backend.js';
import { fmtDims } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Hugging Face's ignore index. */
export const IGNORE_INDEX = -100;

export interface LossResult {
  /** (1) mean loss. */
  loss: Tensor;
  /** dL/dlogits, the logits' dims. */
  dLogits: Tensor;
  /** Label positions that counted. */
  tokens: number;
}

function hostInts(t: Tensor, what: string): Int32Array {
  if (t.location !== 'cpu') throw new Error(`${what}: labels must be a host tensor, got one on ${t.location}`);
  if (t.dtype === 'int32') return t.hostData<Int32Array>();
  if (t.dtype === 'int64') return Int32Array.from(t.hostData<BigInt64Array>(), Number);
  throw new Error(`${what}: labels must be int64 or int32, got ${t.dtype}`);
}

/** Cross-entropy over rows of (N, V) logits with labels (N); dlogits for a loss weight of 1. */
function rowsLoss(b: Backend, logits: Tensor, labels: Int32Array, what: string): LossResult {
  const V = logits.dims[1];
  let tokens = 0;
  for (const l of labels) {
    if (l === IGNORE_INDEX) continue;
    if (l < 0 || l >= V) throw new Error(`${what}: label ${l} is outside [0, ${V}) and is not ${IGNORE_INDEX}`);
    tokens++;
  }
  if (tokens === 0) throw new Error(`${what}: every label is ${IGNORE_INDEX}; there is nothing to learn from this batch`);
  const lab = b.upload(new Tensor('int32', labels, [labels.length]));
  const one = b.upload(new Tensor('float32', Float32Array.of(1), [1]));
  try {
    const loss = b.crossEntropy(logits, lab, IGNORE_INDEX);
    const dLogits = b.crossEntropyBackward(logits, lab, one, IGNORE_INDEX);
    return { loss, dLogits, tokens };
  } finally {
    lab.dispose();
    one.dispose();
  }
}

/** logits (B, T, V), labels (B, T) on the host (-100 = ignore). */
export function causalLmLoss(b: Backend, logits: Tensor, labels: Tensor): LossResult {
  const what = 'causal LM loss';
  if (logits.rank !== 3) throw new Error(`${what}: logits must be (batch, tokens, vocab), got ${fmtDims(logits.dims)}`);
  const [B, T, V] = logits.dims;
  if (labels.rank !== 2 || labels.dims[0] !== B || labels.dims[1] !== T) {
    throw new Error(`${what}: labels must be (${B}, ${T}) like input_ids, got ${fmtDims(labels.dims)}`);
  }
  if (T < 2) throw new Error(`${what}: a causal LM needs at least 2 tokens per row to predict one, got ${T}`);
  const all = hostInts(labels, what);
  const shifted = new Int32Array(B * (T - 1)); // labels[:, 1:]
  for (let r = 0; r < B; r++) shifted.set(all.subarray(r * T + 1, (r + 1) * T), r * (T - 1));
  const head = b.slice(logits, [0], [T - 1], [1]); // (B, T-1, V)
  const rows = b.reshape(head, [B * (T - 1), V]);
  head.dispose();
  try {
    const r = rowsLoss(b, rows, shifted, what);
    const d = b.reshape(r.dLogits, [B, T - 1, V]);
    r.dLogits.dispose();
    const dLogits = b.sliceBackward(d, [B, T, V], [0], [T - 1], [1]); // the last position predicts nothing: 0
    d.dispose();
    return { ...r, dLogits };
  } finally {
    rows.dispose();
  }
}

/** logits (B, C), labels (B) class ids. */
export function sequenceClassificationLoss(b: Backend, logits: Tensor, labels: Tensor): LossResult {
  const what = 'sequence classification loss';
  if (logits.rank !== 2) throw new Error(`${what}: logits must be (batch, classes), got ${fmtDims(logits.dims)}`);
  if (labels.rank !== 1 || labels.dims[0] !== logits.dims[0]) {
    throw new Error(`${what}: labels must be (${logits.dims[0]}) class ids, got ${fmtDims(labels.dims)}`);
  }
  return rowsLoss(b, logits, hostInts(labels, what), what);
}

/** logits (B, 1) or (B), labels (B) float: mean((logits − labels)²), as transformers' regression head. */
export function mseLoss(b: Backend, logits: Tensor, labels: Tensor): LossResult {
  const what = 'regression (MSE) loss';
  const B = logits.dims[0];
  if (logits.size !== B || (logits.rank !== 1 && logits.rank !== 2)) throw new Error(`${what}: logits must be (batch, 1), got ${fmtDims(logits.dims)}`);
  if (labels.dtype !== 'float32' || labels.size !== B) throw new Error(`${what}: labels must be float32 (${B}), got ${labels.dtype} ${fmtDims(labels.dims)}`);
  const y = b.reshape(logits, [B]);
  const t = b.upload(labels.rank === 1 ? labels : b.reshape(labels, [B]));
  const diff = b.binary('sub', y, t);
  const sq = b.binary('mul', diff, diff);
  const loss = b.reduce('mean', sq, [0], true); // (1)
  const scale = b.upload(new Tensor('float32', Float32Array.of(2 / B), [1]));
  const d = b.binary('mul', diff, scale);
  const dLogits = b.reshape(d, logits.dims);
  for (const x of [y, t, diff, sq, scale, d]) if (x !== labels) x.dispose();
  return { loss, dLogits, tokens: B };
}
