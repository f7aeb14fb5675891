/** Shared pieces of the generation tests: the tiny fixtures, a tokenizer over their 97 ids, a scripted model, a run spy. */
import { Tokenizer } from '../../src/data/tokenizer.js';
import type { Model } from '../../src/graph/model.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { WORD_LEVEL_CONFIG, WORD_LEVEL_WORDS, wordLevelJson } from '../data/tinyTokenizer.js';

export const FIXTURES = 'test/fixtures/models';

/** WordLevel over exactly 97 tokens (the tiny models' vocabulary): test/data's words, then w21 … w96. */
export function tiny97Tokenizer(config: Record<string, string> = {}): Tokenizer {
  const words = [...WORD_LEVEL_WORDS, ...Array.from({ length: 97 - WORD_LEVEL_WORDS.length }, (_, i) => `w${WORD_LEVEL_WORDS.length + i}`)];
  return new Tokenizer({ tokenizer: wordLevelJson(words), config: { ...WORD_LEVEL_CONFIG, ...config } });
}

/**
 * A stand-in for a Model without a cache whose logits make greedy decoding emit `script`
 * (then `script`'s last token forever): step k = sequence length − prompt length.
 */
export function scriptedModel(script: readonly number[], vocab: number, promptLength: number): Model {
  const fake = {
    file: 'scripted',
    inputs: [{ name: 'input_ids', dtype: 'int64', dims: ['batch', 'sequence'] }],
    outputs: [{ name: 'logits', dtype: 'float32', dims: ['batch', 'sequence', vocab] }],
    async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
      const s = feeds.input_ids.dims[1];
      const step = Math.min(s - promptLength, script.length - 1);
      const logits = new Float32Array(s * vocab);
      logits[(s - 1) * vocab + script[step]] = 10;
      return { logits: new Tensor('float32', logits, [1, s, vocab]) };
    },
  };
  return fake as unknown as Model;
}

export interface RunRecord {
  feeds: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  /** Feeds already disposed when run was called (must be none). */
  deadFeeds: string[];
  /** The integer feeds' values at the call (generate frees them afterwards). */
  ints: Record<string, number[]>;
}

/** The model with `run` recorded: what each step was fed and returned. */
export function spyRuns(model: Model): { model: Model; runs: RunRecord[] } {
  const runs: RunRecord[] = [];
  const spy = Object.create(model) as Model;
  spy.run = async (feeds, opts) => {
    const deadFeeds = Object.entries(feeds).filter(([, t]) => t.isDisposed).map(([k]) => k);
    const ints: Record<string, number[]> = {};
    for (const [k, t] of Object.entries(feeds)) if (t.dtype.startsWith('int') && !t.isDisposed) ints[k] = await t.toArray();
    const outputs = await model.run(feeds, opts);
    runs.push({ feeds: { ...feeds }, outputs: { ...outputs }, deadFeeds, ints });
    return outputs;
  };
  return { model: spy, runs };
}
