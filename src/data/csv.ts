/**
 * CSV as RFC 4180 defines it, strictly: fields separated by the delimiter, records by CRLF
 * or LF; a field that holds the delimiter, a quote or a line break is quoted, and a quote
 * inside it is doubled (`"say ""hi"""`). Quoted fields may span lines; a record's line is
 * the 1-based line it starts on. The first non-blank record is the header.
 *
 * Not accepted (each a bad row, naming the line): a quote inside an unquoted field
 * (`5" screen`), text after a closing quote (`"a"b`), a record with more or fewer fields than
 * the header. An unterminated quote is always an error, even with onBadRow 'skip', since
 * the rest of the file would vanish into that one field.
 */
import { DataRowError, RowLog, stripBom, type DataSource, type Row } from './rows.js';

export type CsvRecord =
  | { line: number; fields: string[] }
  | { line: number; error: string; /** the rest of the file cannot be read */ fatal?: boolean }
  | { line: number; blank: true };

export function* parseCsv(input: string, delimiter = ','): Generator<CsvRecord> {
  const text = stripBom(input);
  const n = text.length;
  let i = 0;
  let line = 1;
  /** Index just past the line break at `j` ("\n" or "\r\n"), or -1 if there is none. */
  const breakEnd = (j: number) => (text[j] === '\n' ? j + 1 : text[j] === '\r' && text[j + 1] === '\n' ? j + 2 : -1);
  while (i < n) {
    const start = line;
    const eol = text.indexOf('\n', i);
    const physical = text.slice(i, eol < 0 ? n : eol).replace(/\r$/, '');
    if (physical.trim() === '') {
      yield { line: start, blank: true };
      i = eol < 0 ? n : eol + 1;
      line++;
      continue;
    }
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) {
            yield { line: start, error: 'unterminated quoted field (a field opened with " is never closed)', fatal: true };
            return;
          }
          const c = text[i];
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        if (i < n && text[i] !== delimiter && breakEnd(i) < 0) {
          error = `unexpected ${JSON.stringify(text[i])} after a closing quote (a quote inside a quoted field is written "")`;
        }
      } else {
        let j = i;
        while (j < n && text[j] !== delimiter && breakEnd(j) < 0) j++;
        field = text.slice(i, j);
        if (field.includes('"')) error = `a quote inside an unquoted field (${JSON.stringify(field)}); quote the whole field and double the quote ("")`;
        i = j;
      }
      if (error) break;
      fields.push(field);
      if (i >= n) break;
      if (text[i] === delimiter) {
        i++;
        continue;
      }
      i = breakEnd(i); // a line break ends the record
      line++;
      break;
    }
    if (error) {
      const eolAt = text.indexOf('\n', i); // skip the rest of the physical line
      i = eolAt < 0 ? n : eolAt + 1;
      line++;
      yield { line: start, error };
    } else {
      yield { line: start, fields };
    }
  }
}

/** Records as objects keyed by the header's column names. */
export function* csvRows(src: DataSource, log: RowLog, delimiter = ','): Generator<Row> {
  let header: string[] | undefined;
  for (const rec of parseCsv(src.text, delimiter)) {
    if ('blank' in rec) {
      log.blank++;
      continue;
    }
    if ('error' in rec && (rec.fatal || !header)) throw new DataRowError(src.name, rec.line, header ? rec.error : `header: ${rec.error}`);
    if (!header) {
      header = (rec as { fields: string[] }).fields.map((h) => h.trim());
      const dup = header.find((h, k) => header!.indexOf(h) !== k);
      if (dup !== undefined) throw new DataRowError(src.name, rec.line, `header: column '${dup}' appears twice`);
      continue;
    }
    log.rows++;
    if ('error' in rec) {
      log.bad(src.name, rec.line, rec.error);
      continue;
    }
    if (rec.fields.length !== header.length) {
      log.bad(src.name, rec.line, `expected ${header.length} fields (${header.join(', ')}), got ${rec.fields.length}`);
      continue;
    }
    const fields = rec.fields;
    yield { file: src.name, line: rec.line, value: Object.fromEntries(header.map((h, k) => [h, fields[k]])) };
  }
  if (!header) throw new DataRowError(src.name, 1, 'no header row (the file is empty)');
}
