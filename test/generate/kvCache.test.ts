/** Cache layout detection by name, empty pasts, and the hand-over of presents. */
import { describe, expect, it } from 'vitest';
import { detectCache, emptyPast, KvCache } from '../../src/generate/kvCache.js';
import type { IrValue } from '../../src/graph/ir.js';
import { loadModel } from '../../src/graph/model.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { FIXTURES } from './helpers.js';

const v = (name: string, dims: (number | string)[], dtype: IrValue['dtype'] = 'float32'): IrValue => ({ name, dtype, dims });

describe('detectCache', () => {
  it('finds past_key_values.N.key/value → present.N.key/value in the fixtures, and nothing in graphs without a cache', async () => {
    const m = await loadModel(`${FIXTURES}/tiny-llama/model_with_past.onnx`, { backend: 'cpu' });
    const layout = detectCache(m.inputs, m.outputs)!;
    expect(layout.kind).toBe('split');
    expect(layout.entries.map((e) => [e.input, e.output])).toEqual([0, 1].flatMap((l) => ['key', 'value'].map((kv) => [`past_key_values.${l}.${kv}`, `present.${l}.${kv}`])));
    expect(layout.entries[0]).toMatchObject({ dtype: 'float32', batchAxis: 0, dims: ['batch', 2, 'past_sequence', 8] });
    const full = await loadModel(`${FIXTURES}/tiny-llama/model.onnx`, { backend: 'cpu' });
    expect(detectCache(full.inputs, full.outputs)).toBeUndefined();
    m.dispose();
    full.dispose();
  });

  it('finds the GenAI GPT-2 packed layout past_N (2, B, heads, P, head_dim) → present_N', () => {
    const ins = [v('input_ids', ['b', 's'], 'int32'), v('past_0', [2, 'b', 4, 'p', 8]), v('past_1', [2, 'b', 4, 'p', 8])];
    const outs = [v('logits', ['b', 's', 1000]), v('present_0', [2, 'b', 4, 't', 8]), v('present_1', [2, 'b', 4, 't', 8])];
    const layout = detectCache(ins, outs)!;
    expect(layout.kind).toBe('packed');
    expect(layout.entries.map((e) => [e.input, e.output, e.batchAxis])).toEqual([['past_0', 'present_0', 1], ['past_1', 'present_1', 1]]);
  });

  it('says what is wrong when a past input cannot be fed', () => {
    const ids = v('input_ids', ['b', 's'], 'int64');
    expect(() => detectCache([ids, v('past_key_values.0.key', ['b', 2, 'p', 8])], [v('logits', ['b', 's', 9])])).toThrow(/no matching present output.*present\.0\.key/);
    expect(() => detectCache([ids, v('past_key_values.0.key', ['b', 'heads', 'p', 8])], [v('present.0.key', ['b', 'heads', 't', 8])])).toThrow(/axis 1 is symbolic/);
    expect(() => detectCache([ids, v('past_key_values.0.key', ['b', 'p', 8])], [v('present.0.key', ['b', 't', 8])])).toThrow(/rank 4/);
    expect(() => detectCache([ids, v('past_0', [2, 'b', 4, 'p', 8], 'int8')], [v('present_0', [2, 'b', 4, 't', 8])])).toThrow(/float32 or float16/);
  });
});

describe('KvCache', () => {
  const layout = detectCache(
    [v('past_key_values.0.key', ['b', 1, 'p', 16], 'float16'), v('past_key_values.0.value', ['b', 1, 'p', 16], 'float16')],
    [v('present.0.key', ['b', 1, 't', 16], 'float16'), v('present.0.value', ['b', 1, 't', 16], 'float16')],
  )!;

  it('starts with zero-length pasts of the declared dtype (float16 as raw half bits)', () => {
    const t = emptyPast(layout.entries[0], 3);
    expect(t.dims).toEqual([3, 1, 0, 16]);
    expect(t.dtype).toBe('float16');
    expect(t.hostData()).toBeInstanceOf(Uint16Array);
    const cache = new KvCache(layout);
    expect(cache.pastLength).toBe(0);
    expect(Object.keys(cache.feeds())).toEqual(['past_key_values.0.key', 'past_key_values.0.value']);
    cache.dispose();
  });

  it('takes the presents out of the outputs, frees the pasts they replace, and frees them on dispose', () => {
    const cache = new KvCache(layout);
    const firstPasts = Object.values(cache.feeds());
    const present = () => Tensor.zeros('float16', [1, 1, 5, 16]);
    const logits = Tensor.zeros('float32', [1, 5, 7]);
    const outputs: Record<string, Tensor> = { logits, 'present.0.key': present(), 'present.0.value': present() };
    const presents = [outputs['present.0.key'], outputs['present.0.value']];
    cache.update(outputs);
    expect(Object.keys(outputs)).toEqual(['logits']);
    expect(cache.pastLength).toBe(5);
    expect(firstPasts.every((t) => t.isDisposed)).toBe(true);
    expect(Object.values(cache.feeds())).toEqual(presents);
    expect(presents.some((t) => t.isDisposed)).toBe(false);
    cache.reset();
    expect(presents.every((t) => t.isDisposed)).toBe(true);
    expect(cache.pastLength).toBe(0);
    const again = Object.values(cache.feeds());
    cache.dispose();
    expect(again.every((t) => t.isDisposed)).toBe(true);
    expect(() => cache.update({ logits })).toThrow(/present\.0\.key/);
  });
});
