/**
 * Packing: several causal-LM examples concatenated into rows of at most `maxLength`
 * tokens, greedily in order (an example that does not fit starts the next row), so little
 * of a batch is padding.
 *
 * What it does not do: there is no block-diagonal attention mask and position ids do not
 * restart, so tokens of one example attend to the examples packed before it in the row
 * (attention_mask is 1 on every packed token). What it does do: each example keeps its
 * own labels (-100 on its prompt), and the label of every example's first token is set to
 * -100, so no loss term asks the model to predict one example from the end of another.
 * Examples longer than maxLength are cut to it (counted in `truncated`).
 */
import type { Example } from './collate.js';
import { IGNORE_INDEX } from './formats/spans.js';

export interface PackResult {
  rows: Example[];
  /** Examples cut to maxLength before packing. */
  truncated: number;
}

export function pack(examples: readonly Example[], maxLength: number): PackResult {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`pack: maxLength must be a positive integer, got ${maxLength}`);
  const rows: Example[] = [];
  let truncated = 0;
  let cur: Example | undefined;
  for (const e of examples) {
    if (typeof e.labels === 'number') throw new Error(`pack: ${e.origin} is a classification example; only causal-LM examples can be packed`);
    if (e.input_ids.length > maxLength) truncated++;
    const ids = e.input_ids.slice(0, maxLength);
    const labels = e.labels.slice(0, maxLength);
    labels[0] = IGNORE_INDEX;
    if (cur && cur.input_ids.length + ids.length > maxLength) {
      rows.push(cur);
      cur = undefined;
    }
    if (!cur) cur = { input_ids: ids, labels, origin: e.origin };
    else {
      cur.input_ids.push(...ids);
      (cur.labels as number[]).push(...labels);
      cur.origin += ` + ${e.origin}`;
    }
  }
  if (cur) rows.push(cur);
  return { rows, truncated };
}
