/**
 * Generation on third-party exports (../shared/models) with their own tokenizers: the
 * GenAI GPT-2 (packed past_N cache, int32 ids) and the GenAI fp16 Llama (float16 cache
 * and logits). These graphs only come with past inputs, so "without the cache" is the
 * same graph fed an empty past and the whole sequence every step (useCache: false).
 */
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { generate, generateStream, type GenerateOptions } from '../../src/generate/generate.js';
import { loadModel } from '../../src/graph/model.js';
import { sharedModel, skipWithoutSharedModels } from '../helpers/sharedModels.js';

const skip = skipWithoutSharedModels('generate on shared models');

const CASES = [
  { name: 'GenAI GPT-2 (past_N packed cache, int32 ids)', dir: 'ortgenai-tiny-random-gpt2-fp32', file: 'past.onnx', cache: 'packed' },
  { name: 'GenAI Llama fp16 (float16 cache and logits)', dir: 'ortgenai-tiny-random-LlamaForCausalLM-fp16', file: 'model.onnx', cache: 'float16' },
];

describe.skipIf(skip)('shared models: KV cache vs full recompute', () => {
  for (const c of CASES) {
    it(`${c.name}: greedy and seeded sampling give the same tokens with and without the cache`, async () => {
      const tk = await Tokenizer.fromDirectory(sharedModel(c.dir));
      const m = await loadModel(sharedModel(`${c.dir}/${c.file}`), { backend: 'cpu' });
      expect(m.inputs.some((v) => v.dtype === c.cache || v.name === 'past_0')).toBe(true);
      const prompt = 'Hello world, this is';
      for (const opts of [{ maxNewTokens: 12, ignoreEos: true }, { maxNewTokens: 8, ignoreEos: true, temperature: 1, topP: 0.9, seed: 3 }] as GenerateOptions[]) {
        const cached = await generate(m, tk, prompt, opts);
        const full = await generate(m, tk, prompt, { ...opts, useCache: false });
        console.log(`[generate] ${c.name} ${opts.seed === undefined ? 'greedy' : 'sampled'}: ${JSON.stringify(cached.text)}`);
        expect(cached.tokens).toHaveLength(opts.maxNewTokens!);
        expect(new Set(cached.tokens).size).toBeGreaterThan(1);
        expect(cached.tokens).toEqual(full.tokens);
        expect(cached.text).toBe(full.text);
        let streamed = '';
        for await (const chunk of generateStream(m, tk, prompt, opts)) streamed += chunk.text;
        expect(streamed).toBe(cached.text);
        // the text continues the prompt as the tokenizer decodes the whole sequence
        const whole = tk.decode([...tk.encode(prompt), ...cached.tokens], { skipSpecialTokens: true });
        expect(whole.endsWith(cached.text)).toBe(true);
      }
      m.dispose();
    });
  }
});
