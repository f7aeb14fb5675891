/**
 * `{text, label}` rows for sequence classification. Labels are class ids (integers), or
 * strings mapped to ids: through a given label list, else in first-seen order. CSV cells
 * are always strings, so a CSV label that is a plain non-negative integer ("0", "12") is
 * taken as an id, as a typed CSV reader would. Mixing ids and names in one dataset is an
 * error, since the two numberings would collide.
 */
import { describe, RowProblem } from '../rows.js';
import type { Tokenizer } from '../tokenizer.js';
import { stringField } from './fields.js';

export interface LabelReport {
  /** names[id] is the label of class id. */
  names: string[];
  /** name → id. */
  ids: Record<string, number>;
  /** 'given' (the labels option), 'first-seen' (strings in data order), 'ids' (the data held ids). */
  origin: 'given' | 'first-seen' | 'ids';
}

export class LabelMap {
  private readonly map = new Map<string, number>();
  private kind: 'ids' | 'names' | undefined;
  private maxId = -1;

  constructor(private readonly given?: readonly string[]) {
    given?.forEach((name, id) => {
      if (this.map.has(name)) throw new Error(`labels: '${name}' appears twice in the label list`);
      this.map.set(name, id);
    });
  }

  id(label: unknown, fromCsv: boolean): number {
    if (fromCsv && typeof label === 'string' && /^(0|[1-9]\d*)$/.test(label) && !this.map.has(label)) label = Number(label);
    if (typeof label === 'number') {
      if (!Number.isInteger(label) || label < 0) throw new RowProblem(`'label' must be a class id (an integer ≥ 0) or a name, got ${label}`);
      if (this.given && label >= this.given.length) throw new RowProblem(`label id ${label} is outside the ${this.given.length} given labels`);
      this.setKind('ids', label);
      this.maxId = Math.max(this.maxId, label);
      return label;
    }
    if (typeof label !== 'string') throw new RowProblem(`'label' must be a string or an integer class id, got ${describe(label)}`);
    const known = this.map.get(label);
    if (known !== undefined) {
      this.setKind('names', label);
      return known;
    }
    if (this.given) throw new RowProblem(`label '${label}' is not in the given labels (${this.given.join(', ')})`);
    this.setKind('names', label);
    this.map.set(label, this.map.size);
    return this.map.size - 1;
  }

  report(): LabelReport {
    if (this.given) return { names: [...this.given], ids: Object.fromEntries(this.map), origin: 'given' };
    if (this.kind === 'ids') {
      const names = Array.from({ length: this.maxId + 1 }, (_, i) => String(i));
      return { names, ids: Object.fromEntries(names.map((n, i) => [n, i])), origin: 'ids' };
    }
    return { names: [...this.map.keys()], ids: Object.fromEntries(this.map), origin: 'first-seen' };
  }

  private setKind(kind: 'ids' | 'names', label: unknown): void {
    if (this.given) return; // ids index the given list; names look it up: one numbering
    if (this.kind && this.kind !== kind) {
      throw new RowProblem(`label ${JSON.stringify(label)}: this dataset mixes class ids and label names; use one, or give the label list`);
    }
    this.kind = kind;
  }
}

/** Input ids for one text, with the tokenizer's special tokens (BERT's [CLS] … [SEP]). */
export function classificationExample(tok: Tokenizer, row: Record<string, unknown>, labels: LabelMap, fromCsv: boolean, maxLength?: number) {
  const text = stringField(row, 'text', "classification rows need a 'text' string and a 'label'");
  if (!('label' in row)) throw new RowProblem("missing field 'label' (classification rows need a 'text' string and a 'label')");
  const label = labels.id(row.label, fromCsv);
  const ids = tok.encode(text);
  const input_ids = maxLength === undefined ? ids : truncateKeepingSpecials(tok, text, ids, maxLength);
  return { input_ids, label, truncated: input_ids.length < ids.length };
}

/**
 * Cuts ids to `max` tokens keeping the special tokens the post-processor put at either end
 * (HF truncates the text, then adds them): the leading and trailing specials are found by
 * comparing with the encoding without special tokens.
 */
export function truncateKeepingSpecials(tok: Tokenizer, text: string, ids: number[], max: number): number[] {
  if (ids.length <= max) return ids;
  const bare = tok.encode(text, { addSpecialTokens: false });
  let lead = 0;
  while (lead + bare.length <= ids.length && !bare.every((id, k) => ids[lead + k] === id)) lead++;
  const trail = ids.length - lead - bare.length;
  if (bare.length === 0 || trail < 0 || lead + trail >= max) return ids.slice(0, max);
  return [...ids.slice(0, lead), ...bare.slice(0, max - lead - trail), ...ids.slice(ids.length - trail)];
}
