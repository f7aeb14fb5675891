/**
 * Batches: examples → `{ input_ids, attention_mask, labels }` int64 tensors, right-padded
 * to the longest row (or a multiple of `padToMultipleOf`): padding gets the pad id,
 * attention_mask 0 and label -100, so it is neither attended to nor counted in the loss.
 * Causal-LM labels are (B, T) aligned with input_ids (the loss shifts them); sequence
 * classification labels are (B) class ids.
 */
import { Tensor } from '../tensor/tensor.js';
import { IGNORE_INDEX } from './formats/spans.js';

export interface Example {
  input_ids: number[];
  /** Causal LM: one label per token (-100 = not counted). Classification: the class id. */
  labels: number[] | number;
  /** Where it came from: 'file:line' (packed rows join theirs with ' + '). */
  origin: string;
}

export interface CollateOptions {
  padId: number;
  /** Pad the length up to a multiple of this (e.g. 8), for kernels that like round sizes. */
  padToMultipleOf?: number;
  /** Also emit token_type_ids (B, T), all 0 (single-segment input), for BERT-style models. */
  tokenTypeIds?: boolean;
}

export function collate(examples: readonly Example[], opts: CollateOptions): Record<string, Tensor> {
  if (examples.length === 0) throw new Error('collate: no examples');
  const B = examples.length;
  const longest = Math.max(...examples.map((e) => e.input_ids.length));
  const m = opts.padToMultipleOf ?? 1;
  const T = Math.ceil(longest / m) * m;
  const ids = new BigInt64Array(B * T).fill(BigInt(opts.padId));
  const mask = new BigInt64Array(B * T);
  const perToken = typeof examples[0].labels !== 'number';
  const labels = perToken ? new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX)) : new BigInt64Array(B);
  examples.forEach((e, r) => {
    if (perToken !== (typeof e.labels !== 'number')) throw new Error('collate: a batch mixes causal-LM and classification examples');
    e.input_ids.forEach((id, t) => {
      ids[r * T + t] = BigInt(id);
      mask[r * T + t] = 1n;
    });
    if (typeof e.labels === 'number') labels[r] = BigInt(e.labels);
    else e.labels.forEach((l, t) => (labels[r * T + t] = BigInt(l)));
  });
  const batch: Record<string, Tensor> = {
    input_ids: new Tensor('int64', ids, [B, T]), // (B, T)
    attention_mask: new Tensor('int64', mask, [B, T]), // (B, T)
    labels: new Tensor('int64', labels, perToken ? [B, T] : [B]), // (B, T) or (B)
  };
  if (opts.tokenTypeIds) batch.token_type_ids = Tensor.zeros('int64', [B, T]);
  return batch;
}
