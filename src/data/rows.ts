/**
 * Rows of a data file, the error that names where a bad one is, and the log that either
 * throws on a bad row (the default) or skips and counts it (`onBadRow: 'skip'`). Nothing
 * is dropped without a count: blank lines, skipped rows and their reasons are all kept.
 */

/** A text file's contents and the name used in messages (a path, or a File's name). */
export interface DataSource {
  name: string;
  text: string;
  /** How to read it; default from the name's extension (.jsonl/.ndjson/.json, .csv, .tsv, .txt/.md/.text). */
  type?: SourceType;
}

export type SourceType = 'jsonl' | 'csv' | 'tsv' | 'text';

export type BadRowPolicy = 'error' | 'skip';

/** One record of a file: its 1-based line (a CSV record's first line) and its fields. */
export interface Row {
  file: string;
  line: number;
  value: Record<string, unknown>;
}

export interface SkippedRow {
  file: string;
  line: number;
  reason: string;
}

export class DataRowError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'DataRowError';
  }
}

/** A problem with a row's contents, thrown by format code that does not know file or line. */
export class RowProblem extends Error {}

export class RowLog {
  /** Non-blank rows read (good and bad). */
  rows = 0;
  /** Lines holding only whitespace (JSONL, CSV); they are not rows. */
  blank = 0;
  readonly skipped: SkippedRow[] = [];

  constructor(readonly policy: BadRowPolicy = 'error') {}

  /** Records a bad row: throws `DataRowError` unless the policy is 'skip'. */
  bad(file: string, line: number, reason: string): void {
    if (this.policy !== 'skip') throw new DataRowError(file, line, reason);
    this.skipped.push({ file, line, reason });
  }

  /** Runs `f` on a row; a `RowProblem` it throws becomes a bad row (other errors pass through). */
  attempt<T>(row: { file: string; line: number }, f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof RowProblem)) throw e;
      this.bad(row.file, row.line, e.message);
      return undefined;
    }
  }
}

export function sourceType(src: DataSource): SourceType {
  if (src.type) return src.type;
  const ext = /\.([a-z0-9]+)$/i.exec(src.name)?.[1]?.toLowerCase();
  if (ext === 'jsonl' || ext === 'ndjson' || ext === 'json') return 'jsonl';
  if (ext === 'csv') return 'csv';
  if (ext === 'tsv') return 'tsv';
  if (ext === 'txt' || ext === 'md' || ext === 'text') return 'text';
  throw new Error(`${src.name}: cannot tell the file type from its name; set type to 'jsonl', 'csv', 'tsv' or 'text'`);
}

/** JSON Lines: one object per line; blank lines are counted, not errors. */
export function* jsonlRows(src: DataSource, log: RowLog): Generator<Row> {
  const text = stripBom(src.text);
  if (text.trimStart().startsWith('[')) {
    throw new DataRowError(src.name, 1, 'this is a JSON array; webpeft reads JSON Lines, one object per line (convert it, e.g. jq -c ".[]")');
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // the final newline ends the last line
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].replace(/\r$/, '');
    if (text.trim() === '') {
      log.blank++;
      continue;
    }
    log.rows++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      log.bad(src.name, i + 1, `not valid JSON (${(e as Error).message})`);
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      log.bad(src.name, i + 1, `expected a JSON object, got ${describe(value)}`);
      continue;
    }
    yield { file: src.name, line: i + 1, value: value as Record<string, unknown> };
  }
}

export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Reads files as DataSources (Node); the type comes from each name's extension. */
export async function readDataFiles(paths: readonly string[]): Promise<DataSource[]> {
  const fs = (await import(/* @vite-ignore */ FS)) as typeof import('node:fs/promises');
  return Promise.all(paths.map(async (name) => ({ name, text: await fs.readFile(name, 'utf8') })));
}

const FS = 'node:fs/promises';
