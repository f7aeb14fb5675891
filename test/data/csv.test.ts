/**
 * The RFC 4180 reader: quoting edge cases, line numbers of records that span lines, and
 * the errors (bad rows that can be skipped; an unterminated quote that cannot).
 */
import { describe, expect, it } from 'vitest';
import { csvRows, parseCsv } from '../../src/data/csv.js';
import { DataRowError, RowLog } from '../../src/data/rows.js';

const records = (text: string, delimiter?: string) => [...parseCsv(text, delimiter)];
const fields = (text: string) => records(text).map((r) => ('fields' in r ? r.fields : r));

describe('parseCsv', () => {
  it('plain fields, CRLF and LF, empty fields, no final newline', () => {
    expect(fields('a,b,c\r\n1,,3\n,,\nx,y,z')).toEqual([['a', 'b', 'c'], ['1', '', '3'], ['', '', ''], ['x', 'y', 'z']]);
    expect(fields('a,b\n')).toEqual([['a', 'b']]); // the final newline ends the record; no empty record after it
    expect(fields('a,')).toEqual([['a', '']]);
  });

  it('quoted fields hold delimiters, doubled quotes, CRLF/LF line breaks; whitespace is kept', () => {
    const text = 'q,a\n"x, y","say ""hi"""\n"line1\r\nline2\nline3", spaced \n"",""""\n';
    expect(fields(text)).toEqual([['q', 'a'], ['x, y', 'say "hi"'], ['line1\r\nline2\nline3', ' spaced '], ['', '"']]);
  });

  it('a record spanning lines carries the line it starts on; the next record the right line after it', () => {
    const recs = records('h1,h2\n"a\nb\nc",1\nlast,2\n');
    expect(recs.map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('blank lines are reported as blank, with their line', () => {
    expect(records('a\n\n  \nb\n')).toEqual([{ line: 1, fields: ['a'] }, { line: 2, blank: true }, { line: 3, blank: true }, { line: 4, fields: ['b'] }]);
  });

  it('a byte-order mark is not part of the first field; other delimiters work', () => {
    expect(fields('\ufeffid,text\n1,a')).toEqual([['id', 'text'], ['1', 'a']]);
    expect(records('\ufeffname\tvalue\nx\t"a\tb"', '\t').map((r) => ('fields' in r ? r.fields : r))).toEqual([['name', 'value'], ['x', 'a\tb']]);
  });

  it('a quote inside an unquoted field, and text after a closing quote, are errors for that record only', () => {
    const recs = records('a,b\n5" screen,x\n"ok"junk,y\n"fine",z\n');
    expect(recs[1]).toEqual({ line: 2, error: expect.stringMatching(/a quote inside an unquoted field \("5\\" screen"\)/) });
    expect(recs[2]).toEqual({ line: 3, error: expect.stringMatching(/unexpected "j" after a closing quote/) });
    expect(recs[3]).toEqual({ line: 4, fields: ['fine', 'z'] });
  });

  it('an unterminated quote is fatal and names the line it opened on', () => {
    const recs = records('a,b\n1,2\n3,"never\nclosed,4\n');
    expect(recs.at(-1)).toEqual({ line: 3, error: expect.stringMatching(/unterminated quoted field/), fatal: true });
  });
});

describe('csvRows', () => {
  const src = (text: string) => ({ name: 'data.csv', text });

  it('objects keyed by the trimmed header; blanks counted', () => {
    const log = new RowLog();
    const rows = [...csvRows(src('prompt, completion\n"Q: 2+2?",4\n\nhi,"there, you"\n'), log)];
    expect(rows).toEqual([
      { file: 'data.csv', line: 2, value: { prompt: 'Q: 2+2?', completion: '4' } },
      { file: 'data.csv', line: 4, value: { prompt: 'hi', completion: 'there, you' } },
    ]);
    expect([log.rows, log.blank]).toEqual([2, 1]);
  });

  it('a wrong field count names file, line and the header', () => {
    expect(() => [...csvRows(src('a,b\n1,2\n1,2,3\n'), new RowLog())]).toThrow('data.csv:3: expected 2 fields (a, b), got 3');
  });

  it("with 'skip', bad records are listed and the rest read", () => {
    const log = new RowLog('skip');
    const rows = [...csvRows(src('a,b\n1\n2"x,3\n4,5\n'), log)];
    expect(rows.map((r) => r.value)).toEqual([{ a: '4', b: '5' }]);
    expect(log.skipped.map((s) => [s.line, s.reason.slice(0, 24)])).toEqual([[2, 'expected 2 fields (a, b)'], [3, 'a quote inside an unquot']]);
    expect(log.rows).toBe(3);
  });

  it("an unterminated quote throws even with 'skip'; a duplicate column or an empty file is an error", () => {
    expect(() => [...csvRows(src('a,b\n1,"2\n3,4\n'), new RowLog('skip'))]).toThrow(DataRowError);
    expect(() => [...csvRows(src('a,b\n1,"2\n3,4\n'), new RowLog('skip'))]).toThrow(/^data.csv:2: unterminated quoted field/);
    expect(() => [...csvRows(src('a,a\n1,2\n'), new RowLog())]).toThrow("data.csv:1: header: column 'a' appears twice");
    expect(() => [...csvRows(src('\n\n'), new RowLog())]).toThrow('data.csv:1: no header row (the file is empty)');
  });
});
