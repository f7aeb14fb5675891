/**
 * Token labels for a text made of character spans, some trained and some masked.
 *
 * The whole text is tokenized once (so merges across a span boundary happen as they would
 * at inference), then each boundary is mapped to a token index: the length of the common
 * prefix of `encode(text[0, boundary))` and `encode(text)`, as TRL does for prompt /
 * completion. A token that straddles a boundary belongs to the span after it. Labels are
 * the ids in trained spans and -100 elsewhere, aligned with input_ids (the loss shifts).
 */
import type { Tokenizer } from '../tokenizer.js';

export const IGNORE_INDEX = -100; // = src/train/losses.ts; data may not import train

export interface LabeledIds {
  input_ids: number[];
  labels: number[];
}

/**
 * `cuts` are increasing character offsets splitting `text` into cuts.length + 1 spans;
 * `trained[k]` says whether span k counts in the loss.
 */
export function encodeSpans(tok: Tokenizer, text: string, cuts: readonly number[], trained: readonly boolean[], addSpecialTokens: boolean): LabeledIds {
  if (trained.length !== cuts.length + 1) throw new Error(`encodeSpans: ${cuts.length} cuts make ${cuts.length + 1} spans, got ${trained.length} flags`);
  const ids = tok.encode(text, { addSpecialTokens });
  const at: number[] = [0];
  for (const c of cuts) {
    const prefix = c === 0 ? [] : tok.encode(text.slice(0, c), { addSpecialTokens });
    at.push(Math.max(at.at(-1)!, commonPrefix(prefix, ids)));
  }
  at.push(ids.length);
  const labels = new Array<number>(ids.length).fill(IGNORE_INDEX);
  for (let k = 0; k < trained.length; k++) {
    if (!trained[k]) continue;
    for (let t = at[k]; t < at[k + 1]; t++) labels[t] = ids[t];
  }
  return { input_ids: ids, labels };
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
