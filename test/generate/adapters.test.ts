/**
 * One base model, several adapters: `adapter` picks one per request, the active adapter
 * is restored afterwards, and concurrent requests run one at a time in call order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, generateStream, type GenerateOptions } from '../../src/generate/generate.js';
import { loadModel, type Model } from '../../src/graph/model.js';
import { getPeftModel, type PeftModel } from '../../src/peft/model.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { randn } from '../helpers/numeric.js';
import { FIXTURES, tiny97Tokenizer } from './helpers.js';

const tk = tiny97Tokenizer();
const PROMPT = 'what is two plus three';
const OPTS: GenerateOptions = { maxNewTokens: 12, ignoreEos: true };
const CONFIG = { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'], task_type: 'CAUSAL_LM' };

let base: Model;
let peft: PeftModel;

/** B ≠ 0 (LoRA's init leaves B = 0, which would change nothing): random, per adapter. */
function randomizeB(name: string, seed: number): void {
  const next: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(peft.adapterTensors(name))) {
    if (k.endsWith('lora_B.weight')) next[k] = randn(t.dims, seed++, -0.5, 0.5);
    t.dispose();
  }
  peft.setAdapterTensors(next, name);
}

beforeAll(async () => {
  base = await loadModel(`${FIXTURES}/tiny-gpt2/model_with_past.onnx`, { backend: 'cpu' });
  peft = getPeftModel(base, CONFIG, 'default');
  peft.addAdapter('a', CONFIG, { seed: 1 });
  peft.addAdapter('b', CONFIG, { seed: 2 });
  randomizeB('a', 100);
  randomizeB('b', 200);
});
afterAll(() => {
  peft.dispose();
  base.dispose();
});

describe('per-request adapters on a PeftModel', () => {
  it('adapters with different B give different greedy continuations; the active adapter is restored', async () => {
    const plain = await generate(base, tk, PROMPT, OPTS);
    const dflt = await generate(peft, tk, PROMPT, OPTS);
    expect(dflt.tokens, 'default adapter (B = 0) = base').toEqual(plain.tokens);
    const a = await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'a' });
    expect(peft.activeAdapter).toBe('default');
    const b = await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'b' });
    expect(peft.activeAdapter).toBe('default');
    console.log(`[generate] base ${plain.tokens.join(' ')} | a ${a.tokens.join(' ')} | b ${b.tokens.join(' ')}`);
    expect(a.tokens).not.toEqual(b.tokens);
    expect(a.tokens).not.toEqual(plain.tokens);
    expect(b.tokens).not.toEqual(plain.tokens);
    // the same as making it active by hand
    peft.setAdapter('a');
    expect((await generate(peft, tk, PROMPT, OPTS)).tokens).toEqual(a.tokens);
    peft.setAdapter('default');
  });

  it('concurrent requests are serialized: each gets its own adapter, whatever the interleaving', async () => {
    const serial = {
      a: (await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'a' })).tokens,
      b: (await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'b' })).tokens,
      d: (await generate(peft, tk, PROMPT, OPTS)).tokens,
    };
    const all = await Promise.all([
      generate(peft, tk, PROMPT, { ...OPTS, adapter: 'a' }),
      generate(peft, tk, PROMPT, { ...OPTS, adapter: 'b' }),
      generate(peft, tk, PROMPT, OPTS),
      generate(base, tk, PROMPT, OPTS), // the base model directly: same queue
      generate(peft, tk, PROMPT, { ...OPTS, adapter: 'a' }),
    ]);
    expect(all.map((r) => r.tokens)).toEqual([serial.a, serial.b, serial.d, serial.d, serial.a]);
    expect(peft.activeAdapter).toBe('default');
  });

  it('a request started while a stream runs waits for the stream to finish', async () => {
    const want = {
      a: (await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'a' })).tokens,
      b: (await generate(peft, tk, PROMPT, { ...OPTS, adapter: 'b' })).tokens,
    };
    const order: string[] = [];
    const stream = generateStream(peft, tk, PROMPT, { ...OPTS, adapter: 'a' });
    const first = await stream.next();
    const other = generate(peft, tk, PROMPT, { ...OPTS, adapter: 'b' }).then((r) => (order.push('b done'), r));
    const tokens = [(first.value as { token: number }).token];
    for (;;) {
      await new Promise((r) => setTimeout(r, 1)); // give the waiting request every chance to cut in
      const r = await stream.next();
      if (r.done) break;
      tokens.push(r.value.token);
    }
    order.push('a done');
    expect(tokens).toEqual(want.a);
    expect((await other).tokens).toEqual(want.b);
    expect(order).toEqual(['a done', 'b done']);
    expect(peft.activeAdapter).toBe('default');
  });

  it('an unknown adapter fails that request only', async () => {
    await expect(generate(peft, tk, PROMPT, { ...OPTS, adapter: 'nope' })).rejects.toThrow(/no adapter 'nope'/);
    expect(peft.activeAdapter).toBe('default');
    expect((await generate(peft, tk, PROMPT, { ...OPTS, maxNewTokens: 2 })).tokens).toHaveLength(2);
  });
});
