/**
 * `{prompt, completion}` rows for a causal LM, as TRL's SFT: the text is prompt + completion
 * (no separator is added: put one in the data), encoded with the tokenizer's special tokens,
 * plus EOS when `appendEos` and the completion does not already end with it. Prompt tokens
 * are labelled -100 unless `trainOnPrompt`.
 */
import type { Tokenizer } from '../tokenizer.js';
import { stringField } from './fields.js';
import { encodeSpans, type LabeledIds } from './spans.js';

export interface LmOptions {
  trainOnPrompt: boolean;
  appendEos: boolean;
}

export function promptCompletionExample(tok: Tokenizer, row: Record<string, unknown>, opts: LmOptions): LabeledIds {
  const what = "prompt-completion rows need 'prompt' and 'completion' strings";
  const prompt = stringField(row, 'prompt', what);
  const completion = stringField(row, 'completion', what);
  const ex = encodeSpans(tok, prompt + completion, [prompt.length], [opts.trainOnPrompt, true], true);
  return opts.appendEos ? withEos(tok, ex) : ex;
}

export function withEos(tok: Tokenizer, ex: LabeledIds): LabeledIds {
  const eos = tok.eosId;
  if (eos === undefined) throw new Error("appendEos: the tokenizer has no eos_token (tokenizer_config.json); set appendEos: false or give the config");
  if (ex.input_ids.at(-1) === eos) return ex;
  return { input_ids: [...ex.input_ids, eos], labels: [...ex.labels, eos] };
}
