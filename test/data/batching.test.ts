/**
 * From examples to batches: seeded shuffle and split (deterministic), right padding
 * (pad id, attention_mask 0, labels -100) with the prompt still masked, packing.
 */
import { describe, expect, it } from 'vitest';
import { collate, type Example } from '../../src/data/collate.js';
import { buildDataset, Dataset, permutation } from '../../src/data/dataset.js';
import { pack } from '../../src/data/packing.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tinyTokenizer.js';

const tok = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig() });
const M = -100;
const rows2d = (t: Tensor) => {
  const v = Array.from(t.hostData<BigInt64Array>(), Number);
  const [B, T] = t.dims;
  return Array.from({ length: B }, (_, r) => v.slice(r * T, (r + 1) * T));
};
/** n examples whose ids say which they are: example k is [k, k, …] of length 1 + k % 4. */
function numbered(n: number): Dataset {
  const examples: Example[] = Array.from({ length: n }, (_, k) => ({ input_ids: Array(1 + (k % 4)).fill(k), labels: Array(1 + (k % 4)).fill(k), origin: `x:${k + 1}` }));
  return new Dataset('causal-lm', examples, {} as never, 0);
}
const ids = (d: Dataset) => d.examples.map((e) => e.input_ids[0]);

describe('shuffle and split', () => {
  it('the same seed gives the same permutation; another seed another; every index once', () => {
    const a = permutation(50, 7);
    expect(permutation(50, 7)).toEqual(a);
    expect(permutation(50, 8)).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(ids(numbered(50).shuffle(7))).toEqual(a);
  });

  it('split: ceil(fraction · n) eval examples, disjoint, covering all, each in original order; same seed same split', () => {
    const ds = numbered(25);
    const s1 = ds.split({ evalFraction: 0.1, seed: 3 });
    const s2 = ds.split({ evalFraction: 0.1, seed: 3 });
    expect(s1.eval.length).toBe(3);
    expect(s1.train.length).toBe(22);
    expect(ids(s1.eval)).toEqual(ids(s2.eval));
    expect([...ids(s1.train), ...ids(s1.eval)].sort((a, b) => a - b)).toEqual(ids(ds));
    expect(ids(s1.train)).toEqual([...ids(s1.train)].sort((a, b) => a - b));
    expect(ids(ds.split({ evalFraction: 0.1, seed: 4 }).eval)).not.toEqual(ids(s1.eval));
    expect(() => ds.split({ evalFraction: 0, seed: 1 })).toThrow(/evalFraction must be in \(0, 1\)/);
    expect(() => numbered(1).split({ evalFraction: 0.5, seed: 1 })).toThrow(/leaves no training examples/);
  });
});

describe('batches', () => {
  const ds = buildDataset(
    {
      name: 'qa.jsonl',
      text: ['{"prompt": "what is", "completion": " the answer"}', '{"prompt": "hi", "completion": " hello world hello world"}'].join('\n'),
    },
    tok,
  );

  it('right padding: pad id, attention_mask 0 and label -100 after each row; the prompt stays -100; int64 (B, T)', () => {
    const [b] = [...ds.batches(2)];
    expect(Object.keys(b).sort()).toEqual(['attention_mask', 'input_ids', 'labels']);
    for (const t of Object.values(b)) expect([t.dtype, ...t.dims]).toEqual(['int64', 2, 7]);
    const [e0, e1] = ds.examples;
    const pad = (xs: number[], v: number) => [...xs, ...Array(7 - xs.length).fill(v)];
    expect(rows2d(b.input_ids)).toEqual([pad(e0.input_ids, 0), pad(e1.input_ids, 0)]);
    expect(rows2d(b.attention_mask)).toEqual([pad(e0.input_ids.map(() => 1), 0), pad(e1.input_ids.map(() => 1), 0)]);
    expect(rows2d(b.labels)).toEqual([pad(e0.labels as number[], M), pad(e1.labels as number[], M)]);
    // row 0 is <s> what is | the answer </s>: 3 prompt tokens masked, 3 trained, 1 pad
    expect(rows2d(b.labels)[0]).toEqual([M, M, M, tok.tokenToId('Ġthe'), tok.tokenToId('Ġanswer'), 2, M]);
  });

  it('padId and padToMultipleOf; the last batch may be short unless dropLast', () => {
    const [b] = [...ds.batches(2, { padId: 9, padToMultipleOf: 4 })];
    expect(b.input_ids.dims).toEqual([2, 8]);
    expect(rows2d(b.input_ids)[0].slice(6)).toEqual([9, 9]);
    expect([...numbered(5).batches(2)].map((x) => x.input_ids.dims[0])).toEqual([2, 2, 1]);
    expect([...numbered(5).batches(2, { dropLast: true })]).toHaveLength(2);
    expect(() => [...numbered(5).batches(0)]).toThrow(/batchSize must be a positive integer/);
  });

  it('the pad id defaults to the pad token, else EOS, else 0', () => {
    const noPad = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: { ...tinyTokenizerConfig(), pad_token: undefined } });
    expect(buildDataset({ name: 'a.jsonl', text: '{"prompt":"a","completion":"b"}' }, noPad).padId).toBe(2);
    expect(buildDataset({ name: 'a.jsonl', text: '{"prompt":"a","completion":"b"}' }, tok, { padId: 7 }).padId).toBe(7);
  });

  it('collate refuses a batch that mixes classification and causal-LM examples', () => {
    expect(() => collate([{ input_ids: [1], labels: [1], origin: 'a' }, { input_ids: [1], labels: 0, origin: 'b' }], { padId: 0 })).toThrow(/mixes/);
  });
});

describe('packing', () => {
  const ex = (ids: number[], labels: number[], origin: string): Example => ({ input_ids: ids, labels, origin });

  it('greedy in order: an example that does not fit starts the next row; each keeps its labels, its first label -100', () => {
    const examples = [ex([1, 2, 3], [M, 2, 3], 'a'), ex([4, 5], [4, 5], 'b'), ex([6, 7, 8, 9], [M, M, 8, 9], 'c'), ex([10], [10], 'd')];
    const { rows, truncated } = pack(examples, 6);
    expect(truncated).toBe(0);
    expect(rows).toEqual([
      ex([1, 2, 3, 4, 5], [M, 2, 3, M, 5], 'a + b'),
      ex([6, 7, 8, 9, 10], [M, M, 8, 9, M], 'c + d'),
    ]);
    expect(examples[1].labels).toEqual([4, 5]); // inputs untouched
  });

  it('an example longer than maxLength is cut and counted; classification cannot be packed', () => {
    const { rows, truncated } = pack([ex([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 'a'), ex([6], [6], 'b')], 3);
    expect(truncated).toBe(1);
    expect(rows.map((r) => r.input_ids)).toEqual([[1, 2, 3], [6]]);
    expect(() => pack([{ input_ids: [1], labels: 0, origin: 'x.csv:2' }], 4)).toThrow(/x.csv:2 is a classification example/);
  });

  it('Dataset.pack then batches: rows ≤ maxLength, every token kept, attention 1 on all packed tokens', () => {
    const ds = numbered(10); // lengths 1,2,3,4,1,2,3,4,1,2 = 23 tokens
    const packed = ds.pack(5);
    expect(packed.examples.every((e) => e.input_ids.length <= 5)).toBe(true);
    expect(packed.examples.flatMap((e) => e.input_ids)).toEqual(ds.examples.flatMap((e) => e.input_ids));
    const [b] = [...packed.batches(packed.length)];
    const mask = rows2d(b.attention_mask);
    packed.examples.forEach((e, r) => expect(mask[r].filter((m) => m === 1)).toHaveLength(e.input_ids.length));
  });
});
