/**
 * Datasets: files → tokenized examples → batches for `computeGradients`.
 *
 *   buildDataset(sources, tokenizer, options) reads JSONL, CSV/TSV and plain-text files in
 *   one of five formats (prompt-completion, messages, pairs, classification, text), masks
 *   what must not count (-100), truncates, and returns a `Dataset` with a summary of
 *   everything read, skipped, truncated or dropped.
 *   Dataset.shuffle(seed) / split({evalFraction, seed}) / pack(maxLength) / batches(n).
 *
 * Bad rows throw a `DataRowError` naming file and 1-based line, unless onBadRow is 'skip':
 * then they are skipped and listed in the summary. Blank lines are counted, not errors.
 */
import { seededRandom } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { compileChatTemplate } from './chatTemplate.js';
import { collate, type CollateOptions, type Example } from './collate.js';
import { csvRows } from './csv.js';
import { messagesExample, pairExample } from './formats/chat.js';
import { stringField } from './formats/fields.js';
import { classificationExample, LabelMap, type LabelReport } from './formats/classification.js';
import { promptCompletionExample } from './formats/promptCompletion.js';
import { IGNORE_INDEX, type LabeledIds } from './formats/spans.js';
import { chunkDocuments, textDocument, type TextDocument } from './formats/text.js';
import { pack } from './packing.js';
import { DataRowError, jsonlRows, RowLog, sourceType, type BadRowPolicy, type DataSource, type Row, type SkippedRow } from './rows.js';
import type { Tokenizer } from './tokenizer.js';

export type DataFormat = 'prompt-completion' | 'messages' | 'pairs' | 'classification' | 'text';
export type Task = 'causal-lm' | 'classification';

export interface DatasetOptions {
  /** Default: from the first row's fields (messages; prompt+completion; user+assistant; text+label; text). */
  format?: DataFormat;
  /** Cut examples to this many tokens (from the right; classification keeps its end specials). */
  maxLength?: number;
  /** 'text': tokens per chunk (default maxLength; one of them is required). */
  contextLength?: number;
  /** Count prompt tokens (every non-assistant token, for chats) in the loss too. Default false. */
  trainOnPrompt?: boolean;
  /** prompt-completion and text: end each example / document with EOS. Default true. */
  appendEos?: boolean;
  /** classification: the label names, in id order (default: ids in the data, or names in first-seen order). */
  labels?: string[];
  /** Field → column (CSV) or key (JSONL) holding it, e.g. { prompt: 'question', completion: 'answer' }. */
  columns?: Record<string, string>;
  /** 'error' (default): the first bad row throws. 'skip': bad rows are skipped and listed in the summary. */
  onBadRow?: BadRowPolicy;
  /** 'text': drop the last chunk when it is shorter than contextLength. Default false. */
  dropRemainder?: boolean;
  /** Pad id for batches. Default: the tokenizer's pad token, else EOS, else 0 (padding is masked either way). */
  padId?: number;
}

export interface DataSummary {
  format: DataFormat;
  task: Task;
  files: string[];
  /** Non-blank rows read, good and bad (for .txt files: one per file). */
  rows: number;
  blankLines: number;
  skipped: number;
  skippedRows: SkippedRow[];
  examples: number;
  /** Examples cut to maxLength (chat and prompt-completion tails, classification texts). */
  truncated: number;
  /** Examples with no trained token left (e.g. a prompt longer than maxLength): dropped, listed here. */
  droppedNoTrainedTokens: SkippedRow[];
  tokens: number;
  /** Labels that count in the causal-LM loss (not -100, and not at position 0, which predicts nothing). */
  trainedTokens: number;
  /** 'text': documents read, and the length of the last (short) chunk; 0 when it came out even. */
  documents?: number;
  remainder?: number;
  labels?: LabelReport;
  padId: number;
}

export class Dataset {
  constructor(
    readonly task: Task,
    readonly examples: readonly Example[],
    /** The summary of the load this dataset came from (shuffle / split / pack keep it). */
    readonly summary: DataSummary,
    readonly padId: number,
  ) {}

  get length(): number {
    return this.examples.length;
  }

  /** A Fisher–Yates shuffle driven by mulberry32(seed): the same seed gives the same order. */
  shuffle(seed: number): Dataset {
    return this.with(permutation(this.examples.length, seed).map((i) => this.examples[i]));
  }

  /**
   * ceil(evalFraction · n) examples, picked by a seeded permutation, go to `eval`; the rest
   * to `train`. Both keep the original order (shuffle train per epoch with its own seed).
   */
  split(opts: { evalFraction: number; seed: number }): { train: Dataset; eval: Dataset } {
    const n = this.examples.length;
    const f = opts.evalFraction;
    if (!(f > 0 && f < 1)) throw new Error(`split: evalFraction must be in (0, 1), got ${f}`);
    const nEval = Math.ceil(f * n);
    if (nEval >= n) throw new Error(`split: evalFraction ${f} of ${n} examples leaves no training examples`);
    const inEval = new Set(permutation(n, opts.seed).slice(0, nEval));
    return {
      train: this.with(this.examples.filter((_, i) => !inEval.has(i))),
      eval: this.with(this.examples.filter((_, i) => inEval.has(i))),
    };
  }

  /** Packs causal-LM examples into rows of ≤ maxLength tokens (see packing.ts for what attention sees). */
  pack(maxLength: number): Dataset {
    if (this.task !== 'causal-lm') throw new Error('pack: only causal-LM datasets can be packed');
    return this.with(pack(this.examples, maxLength).rows);
  }

  /** Batches of `batchSize` in order (the last may be smaller unless dropLast), ready for computeGradients. */
  *batches(batchSize: number, opts: Partial<CollateOptions> & { dropLast?: boolean } = {}): Generator<Record<string, Tensor>> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batches: batchSize must be a positive integer, got ${batchSize}`);
    for (let i = 0; i < this.examples.length; i += batchSize) {
      const chunk = this.examples.slice(i, i + batchSize);
      if (opts.dropLast && chunk.length < batchSize) return;
      yield collate(chunk, { ...opts, padId: opts.padId ?? this.padId });
    }
  }

  private with(examples: Example[]): Dataset {
    return new Dataset(this.task, examples, this.summary, this.padId);
  }
}

export function permutation(n: number, seed: number): number[] {
  const rand = seededRandom(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

export function buildDataset(sources: DataSource | readonly DataSource[], tok: Tokenizer, options: DatasetOptions = {}): Dataset {
  const list = Array.isArray(sources) ? sources : [sources as DataSource];
  const log = new RowLog(options.onBadRow ?? 'error');
  const b = new Builder(tok, options, log);
  for (const src of list) {
    const type = sourceType(src);
    if (type === 'text') b.textFile(src);
    else for (const row of type === 'jsonl' ? jsonlRows(src, log) : csvRows(src, log, type === 'tsv' ? '\t' : ',')) b.row(row, type !== 'jsonl');
  }
  return b.finish(list.map((s) => s.name));
}

const FIELDS: [DataFormat, string[]][] = [
  ['messages', ['messages']],
  ['prompt-completion', ['prompt', 'completion']],
  ['pairs', ['user', 'assistant']],
  ['classification', ['text', 'label']],
  ['text', ['text']],
];

class Builder {
  format: DataFormat | undefined;
  readonly examples: Example[] = [];
  readonly docs: TextDocument[] = [];
  readonly labels: LabelMap;
  readonly dropped: SkippedRow[] = [];
  truncated = 0;
  templateChecked = false;

  constructor(
    readonly tok: Tokenizer,
    readonly opts: DatasetOptions,
    readonly log: RowLog,
  ) {
    this.format = opts.format;
    this.labels = new LabelMap(opts.labels);
    const max = opts.maxLength;
    if (max !== undefined && (!Number.isInteger(max) || max < 2)) throw new Error(`maxLength must be an integer ≥ 2, got ${max}`);
  }

  textFile(src: DataSource): void {
    if (this.format !== undefined && this.format !== 'text') throw new Error(`${src.name}: a plain-text file only fits the 'text' format, not '${this.format}'`);
    this.format = 'text';
    this.log.rows++;
    this.docs.push(textDocument(this.tok, src.text, this.opts.appendEos ?? true, `${src.name}:1`));
  }

  row(row: Row, fromCsv: boolean): void {
    const v = this.mapColumns(row.value);
    this.format ??= this.detect(row, v);
    if (this.format === undefined) return;
    if (!this.templateChecked && (this.format === 'messages' || this.format === 'pairs')) this.checkTemplate(row);
    const origin = `${row.file}:${row.line}`;
    const trainOnPrompt = this.opts.trainOnPrompt ?? false;
    this.log.attempt(row, () => {
      switch (this.format) {
        case 'text': {
          const text = stringField(v, 'text', "text rows need a 'text' string");
          this.docs.push(textDocument(this.tok, text, this.opts.appendEos ?? true, origin));
          return;
        }
        case 'classification': {
          const e = classificationExample(this.tok, v, this.labels, fromCsv, this.opts.maxLength);
          if (e.truncated) this.truncated++;
          this.examples.push({ input_ids: e.input_ids, labels: e.label, origin });
          return;
        }
        case 'prompt-completion':
          return this.lm(promptCompletionExample(this.tok, v, { trainOnPrompt, appendEos: this.opts.appendEos ?? true }), row);
        case 'messages':
          return this.lm(messagesExample(this.tok, v, trainOnPrompt), row);
        case 'pairs':
          return this.lm(pairExample(this.tok, v, trainOnPrompt), row);
      }
    });
  }

  finish(files: string[]): Dataset {
    const format = this.format ?? this.opts.format;
    if (format === undefined) throw new Error(`no rows to read in ${files.join(', ') || 'no files'}`);
    let remainder: number | undefined;
    if (format === 'text') {
      const len = this.opts.contextLength ?? this.opts.maxLength;
      if (len === undefined || !Number.isInteger(len) || len < 2) throw new Error(`the 'text' format needs contextLength (or maxLength), an integer ≥ 2; got ${len}`);
      const r = chunkDocuments(this.docs, len, this.opts.dropRemainder ?? false);
      remainder = r.remainder;
      this.examples.push(...r.chunks);
    }
    const task: Task = format === 'classification' ? 'classification' : 'causal-lm';
    const padId = this.opts.padId ?? this.tok.padId ?? this.tok.eosId ?? 0;
    const summary: DataSummary = {
      format,
      task,
      files,
      rows: this.log.rows,
      blankLines: this.log.blank,
      skipped: this.log.skipped.length,
      skippedRows: this.log.skipped,
      examples: this.examples.length,
      truncated: this.truncated,
      droppedNoTrainedTokens: this.dropped,
      tokens: this.examples.reduce((s, e) => s + e.input_ids.length, 0),
      trainedTokens: this.examples.reduce((s, e) => s + trainedCount(e.labels), 0),
      padId,
    };
    if (format === 'text') Object.assign(summary, { documents: this.docs.length, remainder });
    if (task === 'classification') summary.labels = this.labels.report();
    return new Dataset(task, this.examples, summary, padId);
  }

  private lm(e: LabeledIds, row: Row): void {
    const max = this.opts.maxLength;
    if (max !== undefined && e.input_ids.length > max) {
      this.truncated++;
      e = { input_ids: e.input_ids.slice(0, max), labels: e.labels.slice(0, max) };
    }
    if (trainedCount(e.labels) === 0) {
      const reason = max === undefined ? 'no trained tokens' : `no trained tokens within maxLength ${max}`;
      this.dropped.push({ file: row.file, line: row.line, reason });
      return;
    }
    this.examples.push({ ...e, origin: `${row.file}:${row.line}` });
  }

  /** Checked once, not per row: a missing or broken template would fail every row alike. */
  private checkTemplate(row: Row): void {
    this.templateChecked = true;
    const t = this.tok.chatTemplate;
    const where = `${row.file}:${row.line}: the '${this.format}' format renders chats with the tokenizer's chat template`;
    if (t === undefined) throw new Error(`${where}, and it has none (tokenizer_config.json chat_template, or chat_template.jinja); give one as Tokenizer({ chatTemplate })`);
    try {
      compileChatTemplate(t);
    } catch (e) {
      throw new Error(`${where}, and ${(e as Error).message}`);
    }
  }

  private detect(row: Row, v: Record<string, unknown>): DataFormat | undefined {
    const hit = FIELDS.find(([, keys]) => keys.every((k) => k in v));
    if (hit) return hit[0];
    const want = FIELDS.map(([, k]) => `{${k.join(', ')}}`).join(', ');
    this.log.bad(row.file, row.line, `cannot tell the format from fields {${Object.keys(v).join(', ')}}: expected one of ${want} (or set format / columns)`);
    return undefined;
  }

  private mapColumns(v: Record<string, unknown>): Record<string, unknown> {
    const cols = this.opts.columns;
    if (!cols) return v;
    const out = { ...v };
    for (const [field, column] of Object.entries(cols)) {
      if (column in v) out[field] = v[column];
      else delete out[field];
    }
    return out;
  }
}

function trainedCount(labels: number[] | number): number {
  if (typeof labels === 'number') return 1;
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  return n;
}
