/**
 * generate / generateStream on the tiny fixtures: the KV cache changes nothing but speed,
 * seeds reproduce, stop strings / stop ids / eos / maxNewTokens end generation as
 * documented, streaming gives the non-streaming text, and every tensor is freed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { generate, generateStream, type GenerateOptions, type GenerateResult, type GenerationChunk } from '../../src/generate/generate.js';
import { loadModel, type Model } from '../../src/graph/model.js';
import type { Backend } from '../../src/tensor/backend.js';
import type { WebGpuBackend } from '../../src/tensor/webgpu/index.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from '../data/tinyTokenizer.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { FIXTURES, scriptedModel, spyRuns, tiny97Tokenizer } from './helpers.js';

const tk = tiny97Tokenizer();
const PROMPT = 'what is two plus three';
/** Random models: eos may come at any step, so tests that need a length ignore it. */
const GREEDY: GenerateOptions = { maxNewTokens: 20, ignoreEos: true };

async function collect(stream: AsyncGenerator<GenerationChunk, GenerateResult>): Promise<{ chunks: GenerationChunk[]; result: GenerateResult }> {
  const chunks: GenerationChunk[] = [];
  for (;;) {
    const r = await stream.next();
    if (r.done) return { chunks, result: r.value };
    chunks.push(r.value);
  }
}

const models = new Map<string, Model>();
beforeAll(async () => {
  for (const name of ['tiny-gpt2', 'tiny-llama']) {
    for (const file of ['model', 'model_with_past']) models.set(`${name}/${file}`, await loadModel(`${FIXTURES}/${name}/${file}.onnx`, { backend: 'cpu' }));
  }
});
afterAll(() => models.forEach((m) => m.dispose()));
const model = (key: string) => models.get(key)!;

describe('KV cache vs full recompute (greedy)', () => {
  for (const name of ['tiny-gpt2', 'tiny-llama']) {
    it(`${name}: model_with_past.onnx with its cache gives model.onnx's tokens`, async () => {
      const full = await generate(model(`${name}/model`), tk, PROMPT, GREEDY);
      const cached = await generate(model(`${name}/model_with_past`), tk, PROMPT, GREEDY);
      const recomputed = await generate(model(`${name}/model_with_past`), tk, PROMPT, { ...GREEDY, useCache: false });
      console.log(`[generate] ${name} greedy: ${JSON.stringify(cached.text)}`);
      expect(full.tokens).toHaveLength(20);
      expect(new Set(full.tokens).size, 'a continuation that tells paths apart').toBeGreaterThan(3);
      expect(cached.tokens).toEqual(full.tokens);
      expect(recomputed.tokens).toEqual(full.tokens);
      expect(cached.text).toBe(full.text);
      expect(full.note).toMatch(/no past_key_values inputs/);
      expect(cached.note).toBeUndefined();
      expect(recomputed.note).toMatch(/useCache is false/);
      expect(cached.promptLength).toBe(5);
    });
  }

  it('warns once per model that has no cache', async () => {
    const m = await loadModel(`${FIXTURES}/tiny-gpt2/model.onnx`, { backend: 'cpu' });
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await generate(m, tk, PROMPT, { maxNewTokens: 2 });
    await generate(m, tk, PROMPT, { maxNewTokens: 2 });
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('recomputes'))).toHaveLength(1);
    warn.mockRestore();
    m.dispose();
  });

  it('feeds each step the presents of the step before, never a freed tensor, and frees every output', async () => {
    const { model: spy, runs } = spyRuns(model('tiny-llama/model_with_past'));
    const out = await generate(spy, tk, PROMPT, { maxNewTokens: 4, ignoreEos: true });
    expect(runs).toHaveLength(4);
    expect(runs.map((r) => r.feeds.input_ids.dims)).toEqual([[1, 5], [1, 1], [1, 1], [1, 1]]);
    expect(runs.map((r) => r.feeds.attention_mask.dims)).toEqual([[1, 5], [1, 6], [1, 7], [1, 8]]);
    expect(runs.map((r) => r.ints.position_ids)).toEqual([[0, 1, 2, 3, 4], [5], [6], [7]]);
    expect(runs.map((r) => r.ints.input_ids)).toEqual([tk.encode(PROMPT), ...out.tokens.slice(0, 3).map((t) => [t])]);
    expect(runs[0].feeds['past_key_values.0.key'].dims).toEqual([1, 2, 0, 8]);
    for (let i = 1; i < runs.length; i++) {
      for (const kv of ['0.key', '0.value', '1.key', '1.value']) expect(runs[i].feeds[`past_key_values.${kv}`]).toBe(runs[i - 1].outputs[`present.${kv}`]);
    }
    expect(runs.flatMap((r) => r.deadFeeds)).toEqual([]);
    for (const r of runs) {
      for (const [k, t] of Object.entries(r.outputs)) expect(t.isDisposed, k).toBe(true);
      for (const [k, t] of Object.entries(r.feeds)) expect(t.isDisposed, k).toBe(true);
    }
  });
});

describe('sampling', () => {
  it('the same seed gives the same tokens, with or without the cache; another seed differs', async () => {
    const opts: GenerateOptions = { maxNewTokens: 16, ignoreEos: true, temperature: 1.2, topK: 50, topP: 0.95, seed: 5 };
    const m = model('tiny-llama/model_with_past');
    const a = await generate(m, tk, PROMPT, opts);
    expect(await generate(m, tk, PROMPT, opts)).toEqual(a);
    expect((await generate(m, tk, PROMPT, { ...opts, useCache: false })).tokens).toEqual(a.tokens);
    expect((await generate(model('tiny-llama/model'), tk, PROMPT, opts)).tokens).toEqual(a.tokens);
    expect((await generate(m, tk, PROMPT, { ...opts, seed: 6 })).tokens).not.toEqual(a.tokens);
  });

  it('repetition penalty changes a greedy continuation that repeats', async () => {
    const m = model('tiny-gpt2/model_with_past');
    const plain = await generate(m, tk, PROMPT, GREEDY);
    expect(new Set(plain.tokens).size, 'the fixture repeats itself').toBeLessThan(plain.tokens.length);
    const penalised = await generate(m, tk, PROMPT, { ...GREEDY, repetitionPenalty: 5 });
    expect(new Set(penalised.tokens).size).toBeGreaterThan(new Set(plain.tokens).size);
  });
});

describe('ending generation', () => {
  const m = () => model('tiny-gpt2/model_with_past');
  let g: GenerateResult; // greedy reference, 20 tokens
  beforeAll(async () => {
    g = await generate(m(), tk, PROMPT, GREEDY);
  });
  /** The fewest leading tokens whose text contains `s`. */
  const tokensUntil = (s: string) => g.tokens.slice(0, g.tokens.findIndex((_, i) => tk.decode(g.tokens.slice(0, i + 1)).includes(s)) + 1);

  it('maxNewTokens: that many tokens, a prefix of the longer run; 0 runs nothing', async () => {
    const r = await generate(m(), tk, PROMPT, { ...GREEDY, maxNewTokens: 5 });
    expect(r.finishReason).toBe('length');
    expect(r.tokens).toEqual(g.tokens.slice(0, 5));
    expect(g.text.startsWith(r.text)).toBe(true);
    const { model: spy, runs } = spyRuns(m());
    expect(await generate(spy, tk, PROMPT, { maxNewTokens: 0 })).toEqual({ text: '', tokens: [], finishReason: 'length', promptLength: 5 });
    expect(runs).toHaveLength(0);
  });

  it('a stop string ends generation and is cut from the text with what follows', async () => {
    const word = tk.idToToken(g.tokens[3])!;
    const r = await generate(m(), tk, PROMPT, { ...GREEDY, stop: [word] });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(g.text.slice(0, g.text.indexOf(word)));
    expect(r.tokens).toEqual(tokensUntil(word));
  });

  it('a stop string spanning two tokens is found, and streaming holds back its possible start', async () => {
    const pair = tk.decode(g.tokens.slice(2, 4)); // e.g. 'w52 green'
    const stop = pair.slice(1, -2); // '52 gre': starts inside one token, ends inside the next
    const { chunks, result } = await collect(generateStream(m(), tk, PROMPT, { ...GREEDY, stop: [stop] }));
    expect(result.finishReason).toBe('stop');
    expect(result.text).toBe(g.text.slice(0, g.text.indexOf(stop)));
    expect(result.tokens).toEqual(tokensUntil(stop));
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    const third = tk.decode(g.tokens.slice(0, 3)).length - tk.decode(g.tokens.slice(0, 2)).length;
    expect(chunks[2].text.length, 'the tail that may start the stop string is held').toBeLessThan(third);
  });

  it('a stop token id ends generation; its text is not in the result', async () => {
    const id = g.tokens[3];
    const at = g.tokens.indexOf(id);
    const r = await generate(m(), tk, PROMPT, { ...GREEDY, stop: [id] });
    expect(r.finishReason).toBe('stop');
    expect(r.tokens).toEqual(g.tokens.slice(0, at + 1));
    expect(r.text).toBe((await generate(m(), tk, PROMPT, { ...GREEDY, maxNewTokens: at })).text);
  });

  it("the tokenizer's eos ends generation by default ('eos'); ignoreEos keeps going", async () => {
    const id = g.tokens[3];
    const at = g.tokens.indexOf(id);
    const eosTk = tiny97Tokenizer({ eos_token: tk.idToToken(id)! });
    const r = await generate(m(), eosTk, PROMPT, { maxNewTokens: 20 });
    expect(r.finishReason).toBe('eos');
    expect(r.tokens).toEqual(g.tokens.slice(0, at + 1));
    expect((await generate(m(), eosTk, PROMPT, { maxNewTokens: 20, ignoreEos: true })).tokens).toEqual(g.tokens);
  });

  it('takes the prompt as token ids as well as text', async () => {
    const r = await generate(m(), tk, tk.encode(PROMPT), GREEDY);
    expect(r).toEqual(g);
  });
});

describe('streaming', () => {
  it('yields one chunk per token, as produced; the joined text and the return value are what generate gives', async () => {
    const opts: GenerateOptions = { maxNewTokens: 12, temperature: 0.9, seed: 11, stop: ['w6'], ignoreEos: true };
    const m = model('tiny-llama/model_with_past');
    const whole = await generate(m, tk, PROMPT, opts);
    const { chunks, result } = await collect(generateStream(m, tk, PROMPT, opts));
    expect(result).toEqual(whole);
    expect(chunks.map((c) => c.token)).toEqual(whole.tokens);
    expect(chunks.map((c) => c.text).join('')).toBe(whole.text);
    expect(chunks.at(-1)!.finishReason).toBe(whole.finishReason);
    expect(chunks.slice(0, -1).every((c) => c.finishReason === undefined)).toBe(true);
    // for await, as users write it
    let text = '';
    for await (const c of generateStream(m, tk, PROMPT, opts)) text += c.text;
    expect(text).toBe(whole.text);
  });

  it('a multi-byte character split over tokens streams whole, never as U+FFFD', async () => {
    const bt = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig() });
    const prompt = bt.encode('hi');
    const want = 'héllo wörld, 日本';
    const script = [...bt.encode(want, { addSpecialTokens: false }), bt.eosId!];
    const fake = scriptedModel(script, bt.vocabSize, prompt.length);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { chunks, result } = await collect(generateStream(fake, bt, prompt, { maxNewTokens: 64 }));
    warn.mockRestore();
    expect(result.finishReason).toBe('eos');
    expect(result.tokens).toEqual(script);
    expect(result.text).toBe(want);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    for (const c of chunks) expect(c.text).not.toContain('\uFFFD');
    expect(chunks.some((c) => c.text === '')).toBe(true);
  });

  it('leaving a stream early frees its cache and lets the next request run', async () => {
    const { model: spy, runs } = spyRuns(model('tiny-gpt2/model_with_past'));
    let n = 0;
    for await (const _ of generateStream(spy, tk, PROMPT, GREEDY)) if (++n === 3) break;
    expect(runs).toHaveLength(3);
    for (const r of runs) for (const t of Object.values(r.outputs)) expect(t.isDisposed).toBe(true);
    const after = await generate(spy, tk, PROMPT, { ...GREEDY, maxNewTokens: 2 });
    expect(after.tokens).toHaveLength(2);
  });
});

describe('errors', () => {
  it('refuses an adapter on a plain Model, an empty prompt, and inputs it cannot fill', async () => {
    await expect(generate(model('tiny-gpt2/model_with_past'), tk, PROMPT, { adapter: 'x' })).rejects.toThrow(/not a PeftModel/);
    await expect(generate(model('tiny-gpt2/model_with_past'), tk, '')).rejects.toThrow(/no tokens/);
    await expect(generate(model('tiny-gpt2/model_with_past'), tk, PROMPT, { maxNewTokens: -1 })).rejects.toThrow(/maxNewTokens/);
    await expect(generate(model('tiny-gpt2/model_with_past'), tk, PROMPT, { topP: 2 })).rejects.toThrow(/topP/);
    const bert = await loadModel(`${FIXTURES}/tiny-bert/model.onnx`, { backend: 'cpu' });
    await expect(generate(bert, tk, PROMPT)).rejects.toThrow(/does not know how to fill: token_type_ids/);
    bert.dispose();
    // the failed requests released their turn
    expect((await generate(model('tiny-gpt2/model_with_past'), tk, PROMPT, { maxNewTokens: 1 })).tokens).toHaveLength(1);
  });
});

async function liveBytes(b: Backend): Promise<number> {
  await b.sync();
  return (b as WebGpuBackend).ctx.pool.snapshot().liveBytes;
}

describe.skipIf(!hasWebGpu)('webgpu backend', () => {
  for (const name of ['tiny-gpt2', 'tiny-llama']) {
    it(`${name}: the cpu tokens, with and without the cache, and no device memory left behind`, async () => {
      const b = await gpu();
      const want = (await generate(model(`${name}/model`), tk, PROMPT, { ...GREEDY, maxNewTokens: 8 })).tokens;
      for (const file of ['model_with_past', 'model']) {
        const m = await loadModel(`${FIXTURES}/${name}/${file}.onnx`, { backend: b });
        const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
        const first = await generate(m, tk, PROMPT, { ...GREEDY, maxNewTokens: 8 }); // builds the plans
        const before = await liveBytes(b);
        const second = await generate(m, tk, PROMPT, { ...GREEDY, maxNewTokens: 8 });
        expect(await liveBytes(b), `${file}: device bytes left by a request`).toBe(before);
        warn.mockRestore();
        expect(first.tokens, file).toEqual(want);
        expect(second.tokens, file).toEqual(want);
        m.dispose();
      }
    });
  }
});
