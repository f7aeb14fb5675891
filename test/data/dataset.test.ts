/**
 * Datasets: every format (JSONL prompt-completion, messages, pairs, classification, text;
 * CSV/TSV with column mapping; .txt files), what counts in the loss (prompt masked),
 * truncation, errors that name file and line, skip counting, the summary.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildDataset, type DatasetOptions } from '../../src/data/dataset.js';
import { DataRowError, readDataFiles, sourceType, type DataSource } from '../../src/data/rows.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { sharedModel, skipWithoutSharedModels } from '../helpers/sharedModels.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tinyTokenizer.js';

const tok = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig() });
const EOS = tok.eosId!;
const M = -100;

/** A JSONL source: objects are serialized, strings are written as they are. */
const jsonl = (rows: (object | string)[], name = 'train.jsonl'): DataSource => ({
  name,
  text: rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n',
});
const build = (src: DataSource | DataSource[], opts?: DatasetOptions) => buildDataset(src, tok, opts);
const lm = (src: DataSource | DataSource[], opts?: DatasetOptions) => build(src, opts).examples.map((e) => ({ ids: e.input_ids, labels: e.labels as number[] }));
/** The trained runs of an example, decoded: what the model is taught to write. */
function trainedText(labels: number[]): string[] {
  const runs: number[][] = [];
  labels.forEach((l, i) => {
    if (l === M) return;
    if (i === 0 || labels[i - 1] === M) runs.push([]);
    runs.at(-1)!.push(l);
  });
  return runs.map((r) => tok.decode(r));
}
function errorOf(f: () => unknown): DataRowError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DataRowError);
    return e as DataRowError;
  }
  throw new Error('no error');
}

describe('prompt-completion', () => {
  it('input_ids = <s> prompt completion </s>; prompt tokens are -100, completion and EOS are trained', () => {
    const [e] = lm(jsonl([{ prompt: 'what is the answer?', completion: ' hello world' }]));
    const p = tok.encode('what is the answer?');
    const full = tok.encode('what is the answer? hello world');
    expect(e.ids).toEqual([...full, EOS]);
    expect(e.labels).toEqual([...p.map(() => M), ...full.slice(p.length), EOS]);
    expect(trainedText(e.labels)).toEqual([' hello world</s>']);
  });

  it('trainOnPrompt trains every token; appendEos false adds no EOS (and none is doubled)', () => {
    const row = { prompt: 'what is', completion: ' hello' };
    const [all] = lm(jsonl([row]), { trainOnPrompt: true });
    expect(all.labels).toEqual(all.ids);
    const [noEos] = lm(jsonl([row]), { appendEos: false });
    expect(noEos.ids.at(-1)).not.toBe(EOS);
    const [ended] = lm(jsonl([{ prompt: 'what is', completion: ' hello</s>' }]));
    expect(ended.ids.filter((i) => i === EOS)).toHaveLength(1);
  });

  it('a token straddling the prompt/completion boundary belongs to the completion (as TRL)', () => {
    const [e] = lm(jsonl([{ prompt: 'hel', completion: 'lo world' }])); // 'hello' is one token
    expect(e.ids).toEqual([1, tok.tokenToId('hello'), tok.tokenToId('Ġworld'), EOS]);
    expect(e.labels).toEqual([M, tok.tokenToId('hello'), tok.tokenToId('Ġworld'), EOS]);
  });
});

describe('messages and pairs', () => {
  const chat = [
    { role: 'system', content: 'the system' },
    { role: 'user', content: 'hi there' },
    { role: 'assistant', content: 'hello world' },
    { role: 'user', content: 'what is the answer?' },
    { role: 'assistant', content: 'the answer is 42' },
  ];

  it('the chat template renders the text; only assistant turns (with their <|im_end|>) are trained', () => {
    const [e] = lm(jsonl([{ messages: chat }]));
    expect(tok.decode(e.ids)).toBe(tok.applyChatTemplate(chat));
    expect(trainedText(e.labels)).toEqual(['hello world<|im_end|>\n', 'the answer is 42<|im_end|>\n']);
    expect(e.ids[0]).toBe(4); // the template writes its specials; no <s> is added
  });

  it('trainOnPrompt trains the whole conversation', () => {
    const [e] = lm(jsonl([{ messages: chat }]), { trainOnPrompt: true });
    expect(e.labels).toEqual(e.ids);
  });

  it('{user, assistant} pairs (with an optional system) are a two-turn chat', () => {
    const [p] = lm(jsonl([{ system: 'the system', user: 'hi there', assistant: 'hello world' }]));
    const [m] = lm(jsonl([{ messages: chat.slice(0, 3) }]));
    expect(p).toEqual(m);
    expect(trainedText(p.labels)).toEqual(['hello world<|im_end|>\n']);
  });

  it('bad chats name file, line and the problem', () => {
    const rows = [
      { messages: [{ role: 'user', content: 'hi' }] },
      { messages: 'hi' },
      { messages: [] },
      { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 5 }] },
      { messages: [{ content: 'hi' }] },
      { user: 'hi' },
    ];
    const reasons = [
      "train.jsonl:1: no 'assistant' message: nothing to train on",
      "train.jsonl:1: 'messages' must be an array of {role, content}, got a string (\"hi\")",
      "train.jsonl:1: 'messages' is empty",
      'train.jsonl:1: messages[1].content must be a string, got number 5',
      'train.jsonl:1: messages[0].role must be a non-empty string, got undefined',
      "train.jsonl:1: missing field 'assistant' (pair rows need 'user' and 'assistant' strings)",
    ];
    rows.forEach((r, i) => {
      const format = 'user' in r ? 'pairs' : 'messages';
      expect(errorOf(() => build(jsonl([r]), { format })).message).toContain(reasons[i]);
    });
  });

  it('a template that does not render turn by turn is a row error (unless trainOnPrompt)', () => {
    const odd = new Tokenizer({
      tokenizer: tinyTokenizerJson(),
      config: tinyTokenizerConfig(),
      chatTemplate: '{% for m in messages %}{% if loop.last %}last {% endif %}{{ m.content }}\n{% endfor %}',
    });
    const src = jsonl([{ messages: chat.slice(1, 3) }]);
    expect(() => buildDataset(src, odd)).toThrow(/train.jsonl:1: chat template: rendering messages\[0..1\] is not a prefix/);
    expect(buildDataset(src, odd, { trainOnPrompt: true }).length).toBe(1);
  });

  it('a chat format without a chat template, or with a broken one, fails once (even with skip) and says how to give one', () => {
    const bare = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: { ...tinyTokenizerConfig(), chat_template: undefined } });
    expect(() => buildDataset(jsonl([{ messages: chat }]), bare, { onBadRow: 'skip' })).toThrow(
      /^train.jsonl:1: the 'messages' format renders chats with the tokenizer's chat template, and it has none .*give one as Tokenizer\(\{ chatTemplate \}\)/,
    );
    const broken = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig(), chatTemplate: '{% for m in messages %}' });
    expect(() => buildDataset(jsonl([{ user: 'a', assistant: 'b' }]), broken, { onBadRow: 'skip' })).toThrow(/the chat template does not parse/);
    expect(() => buildDataset(jsonl([{ x: 1 }]), broken, { format: 'pairs', onBadRow: 'skip' })).toThrow(/the chat template does not parse/);
  });
});

describe('classification', () => {
  const rows = [
    { text: 'hello', label: 'pos' },
    { text: 'world', label: 'neg' },
    { text: 'hi', label: 'pos' },
  ];

  it('string labels map to ids in first-seen order, and the summary reports the mapping', () => {
    const ds = build(jsonl(rows));
    expect(ds.task).toBe('classification');
    expect(ds.examples.map((e) => e.labels)).toEqual([0, 1, 0]);
    expect(ds.summary.labels).toEqual({ names: ['pos', 'neg'], ids: { pos: 0, neg: 1 }, origin: 'first-seen' });
    expect(ds.examples[0].input_ids).toEqual(tok.encode('hello'));
  });

  it('a given label list fixes the ids; a label outside it is a row error', () => {
    const ds = build(jsonl(rows), { labels: ['neg', 'pos'] });
    expect(ds.examples.map((e) => e.labels)).toEqual([1, 0, 1]);
    expect(ds.summary.labels?.origin).toBe('given');
    expect(errorOf(() => build(jsonl([...rows, { text: 'x', label: 'meh' }]), { labels: ['neg', 'pos'] })).message).toBe(
      "train.jsonl:4: label 'meh' is not in the given labels (neg, pos)",
    );
  });

  it('integer labels are ids; CSV integer cells are ids too; mixing ids and names is an error', () => {
    expect(build(jsonl([{ text: 'a', label: 2 }, { text: 'b', label: 0 }])).summary.labels).toEqual({ names: ['0', '1', '2'], ids: { 0: 0, 1: 1, 2: 2 }, origin: 'ids' });
    const csv = build({ name: 'c.csv', text: 'text,label\nhello,1\nworld,0\n' });
    expect(csv.examples.map((e) => e.labels)).toEqual([1, 0]);
    expect(errorOf(() => build(jsonl([{ text: 'a', label: 1 }, { text: 'b', label: 'pos' }]))).message).toMatch(/train.jsonl:2: label "pos": this dataset mixes class ids and label names/);
    expect(errorOf(() => build(jsonl([{ text: 'a', label: 1.5 }]))).message).toMatch(/train.jsonl:1: 'label' must be a class id/);
    expect(errorOf(() => build(jsonl([{ text: 'a', label: null }]), { format: 'classification' })).message).toMatch(/'label' must be a string or an integer class id, got null/);
  });

  it('truncation keeps the special tokens the post-processor puts at both ends', () => {
    const json = tinyTokenizerJson() as { post_processor: { single: object[]; special_tokens: object } };
    json.post_processor.single = [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }];
    json.post_processor.special_tokens = { ...json.post_processor.special_tokens, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } };
    const bert = new Tokenizer({ tokenizer: json, config: tinyTokenizerConfig() });
    const ds = buildDataset(jsonl([{ text: 'hello world hi there the answer', label: 'a' }, { text: 'hi', label: 'b' }]), bert, { maxLength: 4 });
    const w = (s: string) => bert.tokenToId(s)!;
    expect(ds.examples[0].input_ids).toEqual([1, w('hello'), w('Ġworld'), 2]);
    expect(ds.examples[1].input_ids).toEqual([1, w('hi'), 2]);
    expect(ds.summary.truncated).toBe(1);
  });

  it('batches carry labels (B) class ids', () => {
    const [b] = [...build(jsonl(rows)).batches(3)];
    expect(b.labels.dims).toEqual([3]);
    expect(b.labels.dtype).toBe('int64');
    expect(Array.from(b.labels.hostData<BigInt64Array>(), Number)).toEqual([0, 1, 0]);
  });
});

describe('text', () => {
  it('.txt files and JSONL {text} rows: documents + EOS, concatenated, cut into contextLength chunks, all trained', () => {
    const a = { name: 'a.txt', text: 'hello world hello world' };
    const b = jsonl([{ text: 'the answer' }], 'b.jsonl');
    const ds = build([a, b], { contextLength: 4 });
    const stream = [...tok.encode(a.text), EOS, ...tok.encode('the answer'), EOS];
    expect(ds.examples.map((e) => e.input_ids)).toEqual([stream.slice(0, 4), stream.slice(4, 8), stream.slice(8)]);
    for (const e of ds.examples) expect(e.labels).toEqual(e.input_ids);
    expect(ds.summary).toMatchObject({ format: 'text', documents: 2, remainder: stream.length % 4, rows: 2, examples: 3 });
    expect(ds.examples.map((e) => e.origin)).toEqual(['a.txt:1', 'a.txt:1', 'b.jsonl:1']); // where each chunk starts
    expect(build([a, b], { contextLength: 4, dropRemainder: true }).length).toBe(2);
  });

  it('needs a context length; a .txt file only fits the text format', () => {
    expect(() => build({ name: 'a.txt', text: 'hi' })).toThrow(/the 'text' format needs contextLength \(or maxLength\)/);
    expect(() => build({ name: 'a.txt', text: 'hi' }, { format: 'messages' })).toThrow(/a.txt: a plain-text file only fits the 'text' format/);
    expect(() => build({ name: 'a.parquet', text: '' })).toThrow(/a.parquet: cannot tell the file type/);
  });
});

describe('CSV and TSV', () => {
  it('columns map fields to CSV columns; quoted cells keep commas, quotes and newlines', () => {
    const text = 'id,question,answer\n1,"what is ""the"" answer,",hello\n2,"hi\nthere", world\n';
    const ds = build({ name: 'qa.csv', text }, { columns: { prompt: 'question', completion: 'answer' } });
    expect(ds.summary.format).toBe('prompt-completion');
    expect(tok.decode(ds.examples[0].input_ids)).toBe('<s>what is "the" answer,hello</s>');
    expect(tok.decode(ds.examples[1].input_ids)).toBe('<s>hi\nthere world</s>');
    expect(ds.examples.map((e) => e.origin)).toEqual(['qa.csv:2', 'qa.csv:3']);
  });

  it('a missing mapped column is a missing field, at its line', () => {
    const e = errorOf(() => build({ name: 'qa.csv', text: 'q,a\nx,y\n' }, { format: 'prompt-completion', columns: { prompt: 'question', completion: 'a' } }));
    expect(e.message).toBe("qa.csv:2: missing field 'prompt' (prompt-completion rows need 'prompt' and 'completion' strings)");
  });

  it('TSV files use tabs', () => {
    const ds = build({ name: 'd.tsv', text: 'text\tlabel\nhello\tpos\n"a\tb"\tneg\n' });
    expect(ds.examples.map((e) => e.labels)).toEqual([0, 1]);
  });
});

describe('errors, skipping and the summary', () => {
  const mixed = [
    { prompt: 'hi', completion: ' there' },
    '',
    '{"prompt": "hi", "completion": }',
    '   ',
    '[1, 2]',
    { prompt: 'hi', completion: 3 },
    { prompt: 'hi' },
    { prompt: 'what', completion: ' is' },
  ];

  it('the first bad row throws DataRowError with file, 1-based line (blank lines counted) and reason', () => {
    const e = errorOf(() => build(jsonl(mixed)));
    expect([e.file, e.line]).toEqual(['train.jsonl', 3]);
    expect(e.message).toMatch(/^train.jsonl:3: not valid JSON \(/);
    expect(errorOf(() => build(jsonl([mixed[0], mixed[4]]))).message).toBe('train.jsonl:2: expected a JSON object, got an array');
    expect(errorOf(() => build(jsonl([mixed[0], mixed[5]]))).message).toBe("train.jsonl:2: 'completion' must be a string, got number 3");
    expect(errorOf(() => build(jsonl([mixed[0], mixed[6]]))).message).toBe(
      "train.jsonl:2: missing field 'completion' (prompt-completion rows need 'prompt' and 'completion' strings)",
    );
  });

  it("onBadRow 'skip': bad rows are skipped and listed; blanks counted; nothing else is lost", () => {
    const ds = build(jsonl(mixed), { onBadRow: 'skip' });
    expect(ds.length).toBe(2);
    const s = ds.summary;
    expect({ rows: s.rows, blank: s.blankLines, skipped: s.skipped, examples: s.examples }).toEqual({ rows: 6, blank: 2, skipped: 4, examples: 2 });
    expect(s.skippedRows.map((r) => `${r.file}:${r.line}`)).toEqual(['train.jsonl:3', 'train.jsonl:5', 'train.jsonl:6', 'train.jsonl:7']);
    expect(s.skippedRows[1].reason).toBe('expected a JSON object, got an array');
    expect(s.rows).toBe(s.examples + s.skipped);
  });

  it('CRLF line ends and a byte-order mark are read; line numbers stay right', () => {
    const src = { name: 'w.jsonl', text: '\ufeff{"prompt":"a","completion":"b"}\r\n\r\n{"prompt":1,"completion":"b"}\r\n' };
    expect(errorOf(() => build(src)).message).toBe("w.jsonl:3: 'prompt' must be a string, got number 1");
  });

  it('an unknown row shape says which fields were expected; skipped rows do not fix the format', () => {
    expect(errorOf(() => build(jsonl([{ question: 'x' }]))).message).toMatch(/train.jsonl:1: cannot tell the format from fields \{question\}: expected one of \{messages\}, \{prompt, completion\}/);
    const ds = build(jsonl([{ question: 'x' }, { prompt: 'a', completion: 'b' }]), { onBadRow: 'skip' });
    expect([ds.summary.format, ds.length, ds.summary.skipped]).toEqual(['prompt-completion', 1, 1]);
  });

  it('maxLength truncates from the right; examples left with nothing to train are dropped and listed', () => {
    const long = { prompt: 'what is the answer? what is the answer?', completion: ' hello' };
    const ds = build(jsonl([{ prompt: 'hi', completion: ' hello world hello world' }, long]), { maxLength: 5 });
    expect(ds.length).toBe(1);
    expect(ds.examples[0].input_ids).toHaveLength(5);
    expect(ds.summary.truncated).toBe(2);
    expect(ds.summary.droppedNoTrainedTokens).toEqual([{ file: 'train.jsonl', line: 2, reason: 'no trained tokens within maxLength 5' }]);
  });

  it('the summary counts tokens and trained tokens (position 0 predicts nothing and is not counted)', () => {
    const ds = build(jsonl([{ prompt: 'hi', completion: ' hello' }]), { trainOnPrompt: true });
    expect(ds.summary.tokens).toBe(ds.examples[0].input_ids.length);
    expect(ds.summary.trainedTokens).toBe(ds.examples[0].input_ids.length - 1);
    expect(ds.summary.padId).toBe(0);
  });

  it('a JSON array file is not JSON Lines, and says how to convert it', () => {
    expect(() => build({ name: 'rows.json', text: '[{"prompt": "a", "completion": "b"}]' })).toThrow(/^rows.json:1: this is a JSON array; webpeft reads JSON Lines/);
  });

  it('readDataFiles reads paths (Node) into sources typed by extension', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-data-'));
    writeFileSync(join(dir, 'a.jsonl'), '{"prompt": "hi", "completion": " hello"}\n');
    writeFileSync(join(dir, 'b.csv'), 'prompt,completion\nwhat,is\n');
    const sources = await readDataFiles([join(dir, 'a.jsonl'), join(dir, 'b.csv')]);
    expect(sources.map((s) => sourceType(s))).toEqual(['jsonl', 'csv']);
    const ds = build(sources);
    expect(ds.examples.map((e) => e.origin)).toEqual([`${join(dir, 'a.jsonl')}:1`, `${join(dir, 'b.csv')}:2`]);
  });

  it('several files read in order; a bad row in the second names the second file', () => {
    const e = errorOf(() => build([jsonl([{ prompt: 'a', completion: 'b' }], 'one.jsonl'), jsonl(['', 'oops'], 'two.jsonl')]));
    expect([e.file, e.line]).toEqual(['two.jsonl', 2]);
  });
});

describe.skipIf(skipWithoutSharedModels('data/dataset (Llama tokenizer)'))('with the real Llama tokenizer and its Llama-2 chat template', () => {
  it('assistant spans are " answer </s>" and the [INST] prompts are masked', async () => {
    const llama = await Tokenizer.fromDirectory(sharedModel('ortgenai-tiny-random-LlamaForCausalLM-fp16'));
    const chat = [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi there!' },
      { role: 'user', content: 'Bye' },
      { role: 'assistant', content: 'See you.' },
    ];
    const [e] = buildDataset(jsonl([{ messages: chat }]), llama).examples;
    expect(e.input_ids.map((id) => llama.idToToken(id)).join('')).toBe('<s>▁[INST]▁Hello▁[/INST]▁Hi▁there!▁</s><s>▁[INST]▁Bye▁[/INST]▁See▁you.▁</s>');
    expect(e.input_ids.filter((id) => id === llama.bosId)).toHaveLength(2); // the template writes <s> per turn; none added
    const runs: string[] = [];
    (e.labels as number[]).forEach((l, i, all) => {
      if (l === M) return;
      if (all[i - 1] === M) runs.push('');
      runs[runs.length - 1] += llama.idToToken(l);
    });
    expect(runs).toEqual(['▁Hi▁there!▁</s>', '▁See▁you.▁</s>']);
  });
});
