/**
 * `generate(model, tokenizer, prompt, opts)` and `generateStream(...)`: autoregressive
 * decoding of one sequence on a `Model` or a `PeftModel`.
 *
 * Each step feeds the graph what it declares: input_ids, and attention_mask /
 * position_ids when it has them, in the integer dtype it declares. A graph with past
 * inputs (see kvCache.ts) gets the whole prompt once with an empty cache, then one token
 * per step with the presents of the step before; a graph without them recomputes the
 * whole sequence every step (slower; said once per model with console.warn and in the
 * result's `note`).
 *
 * Adapters: `opts.adapter` names the PeftModel adapter for this request; it is made
 * active for the call and the previous one restored afterwards, so one base model serves
 * several adapters. Requests on one base model (the Model, or any PeftModel over it) run
 * one at a time in call order: a stream holds its turn from its first `next()` until it
 * finishes or is `return()`ed (leaving a for-await loop early does that), so do not start
 * another request on the same model inside a for-await over a stream (it would wait for
 * itself). Calling `run` or `setAdapter` directly while a request is running bypasses that
 * order and sees the request's adapter.
 */
import type { IrValue } from '../graph/ir.js';
import type { Model } from '../graph/model.js';
import { PeftModel } from '../peft/model.js';
import { f16BitsToF32, Tensor } from '../tensor/tensor.js';
import { detectCache, KvCache } from './kvCache.js';
import { seededRandom } from '../tensor/random.js';
import { checkSamplingOptions, nextToken, type SamplingOptions } from './sampling.js';
import { IncrementalDecoder, StopStrings, type GenerationTokenizer } from './text.js';

export type GenerationModel = Model | PeftModel;

export type FinishReason = 'length' | 'stop' | 'eos';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most (default 64). */
  maxNewTokens?: number;
  /**
   * Strings or token ids that end generation (finishReason 'stop'). A stop string is cut
   * from `text`, with anything after it; `tokens` keep the token that completed it. The
   * tokenizer's eos token always ends generation ('eos') unless `ignoreEos`.
   */
  stop?: ReadonlyArray<string | number>;
  /** Keep going past eos (benchmarks, tests on random models). Default false. */
  ignoreEos?: boolean;
  /** Seed of the sampling stream (mulberry32); the same seed gives the same tokens. Default: a random one. */
  seed?: number;
  /** For a PeftModel: the adapter that serves this request (default: the active one). */
  adapter?: string;
  /** Set false to recompute the whole sequence every step even when the graph has a cache. */
  useCache?: boolean;
  /** Whether a string prompt gets the tokenizer's special tokens (e.g. Llama's <s>). Default true. */
  addSpecialTokens?: boolean;
}

export interface GenerateResult {
  /** The generated text: the prompt excluded, special tokens skipped, cut at a stop string. */
  text: string;
  /** Every generated token id, including an eos or stop token that ended generation. */
  tokens: number[];
  finishReason: FinishReason;
  /** Tokens in the prompt. */
  promptLength: number;
  /** Set when the graph has no KV cache and every step recomputed the whole sequence. */
  note?: string;
}

/** One generated token and the text it released ('' while held: a partial character, a possible stop string). */
export interface GenerationChunk {
  token: number;
  text: string;
  /** On the last chunk only. */
  finishReason?: FinishReason;
}

export type Prompt = string | readonly number[];

/** Collects `generateStream`: the same tokens and text, in one result. */
export async function generate(
  model: GenerationModel, tokenizer: GenerationTokenizer, prompt: Prompt, opts: GenerateOptions = {},
): Promise<GenerateResult> {
  const stream = generateStream(model, tokenizer, prompt, opts);
  for (;;) {
    const r = await stream.next();
    if (r.done) return r.value;
  }
}

/**
 * Yields one chunk per generated token as soon as it is sampled; the generator's return
 * value is the same result `generate` gives (`text` is the chunks' texts joined).
 */
export async function* generateStream(
  model: GenerationModel, tokenizer: GenerationTokenizer, prompt: Prompt, opts: GenerateOptions = {},
): AsyncGenerator<GenerationChunk, GenerateResult, undefined> {
  checkSamplingOptions(opts);
  const maxNewTokens = opts.maxNewTokens ?? 64;
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0)) throw new Error(`maxNewTokens must be an integer ≥ 0, got ${maxNewTokens}`);
  const base = model instanceof PeftModel ? model.base : model;
  const io = graphInputs(base);
  const promptIds = typeof prompt === 'string' ? tokenizer.encode(prompt, { addSpecialTokens: opts.addSpecialTokens ?? true }) : [...prompt];
  if (promptIds.length === 0) throw new Error('generate: the prompt has no tokens (empty text and no bos token); the model needs at least one');

  const stopIds = new Set(opts.stop?.filter((s): s is number => typeof s === 'number'));
  const stops = new StopStrings(opts.stop?.filter((s): s is string => typeof s === 'string') ?? []);
  const layout = detectCache(base.inputs, base.outputs);
  const release = await takeTurn(base);
  let restore = () => {};
  const cache = layout ? new KvCache(layout) : undefined;
  try {
    restore = useAdapter(model, opts.adapter);
    const incremental = cache !== undefined && opts.useCache !== false;
    const note = incremental ? undefined : recomputeNote(base, cache !== undefined);
    const eos = opts.ignoreEos ? undefined : tokenizer.eosId;
    const decoder = new IncrementalDecoder(tokenizer, promptIds);
    const rand = seededRandom(opts.seed ?? Math.floor(Math.random() * 2 ** 32));
    const seq = [...promptIds];
    const tokens: number[] = [];
    let text = '';
    let finishReason: FinishReason = 'length';
    for (let step = 0; step < maxNewTokens; step++) {
      // Cached: the prompt, then one token. Recompute: the whole sequence with no past.
      const fresh = incremental && step > 0 ? seq.slice(-1) : seq;
      if (!incremental) cache?.reset();
      const past = incremental ? cache!.pastLength : 0;
      const logits = await forward(model, io, fresh, past, cache, incremental);
      const token = nextToken(logits, opts, seq, rand);
      seq.push(token);
      tokens.push(token);
      let finish: FinishReason | undefined;
      let piece = '';
      if (token === eos) finish = 'eos';
      else if (stopIds.has(token)) finish = 'stop';
      else {
        piece = stops.push(decoder.push(token));
        if (stops.stopped) finish = 'stop';
      }
      if (!finish && tokens.length === maxNewTokens) finish = 'length';
      if (finish && !stops.stopped) {
        piece += stops.push(decoder.flush());
        if (stops.stopped) finish = 'stop';
        piece += stops.flush();
      }
      text += piece;
      if (finish) {
        finishReason = finish;
        yield { token, text: piece, finishReason: finish };
        break;
      }
      yield { token, text: piece };
    }
    return { text, tokens, finishReason, promptLength: promptIds.length, ...(note ? { note } : {}) };
  } finally {
    cache?.dispose();
    restore();
    release();
  }
}

interface GraphInputs {
  ids: IrValue;
  mask?: IrValue;
  positions?: IrValue;
  logits: string;
}

/** The graph's token inputs and logits output; refuses inputs generation cannot fill. */
function graphInputs(model: Model): GraphInputs {
  const find = (name: string) => model.inputs.find((v) => v.name === name);
  const ids = find('input_ids');
  if (!ids) throw new Error(`generate: model '${model.file}' has no input_ids input; inputs: ${model.inputs.map((v) => v.name).join(', ')}`);
  const known = /^(input_ids|attention_mask|position_ids|past_key_values\.\d+\.(key|value)|past_\d+)$/;
  const unknown = model.inputs.filter((v) => !known.test(v.name));
  if (unknown.length > 0) {
    throw new Error(`generate: model '${model.file}' has inputs generation does not know how to fill: ${unknown.map((v) => v.name).join(', ')}`);
  }
  const io: GraphInputs = { ids, mask: find('attention_mask'), positions: find('position_ids'), logits: '' };
  for (const v of [io.ids, io.mask, io.positions]) {
    if (v && v.dtype !== 'int32' && v.dtype !== 'int64') throw new Error(`generate: input '${v.name}' is ${v.dtype}; expected int32 or int64`);
  }
  const logits = model.outputs.find((v) => v.name === 'logits') ?? model.outputs[0];
  if (!logits) throw new Error(`generate: model '${model.file}' has no outputs`);
  io.logits = logits.name;
  return io;
}

/** An integer tensor (1, n) of the declared dtype. */
function intRow(v: IrValue, values: readonly number[]): Tensor {
  const dims = [1, values.length];
  return v.dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(values, BigInt), dims) : new Tensor('int32', Int32Array.from(values), dims);
}

/**
 * One step: `fresh` tokens after `past` cached ones, with the cache's pasts as feeds.
 * The feeds it builds are freed here; the cache takes the step's presents when `keep`;
 * every other output is freed. Returns the last position's logits (V,) in float32.
 */
async function forward(
  model: GenerationModel, io: GraphInputs, fresh: readonly number[], past: number, cache: KvCache | undefined, keep: boolean,
): Promise<Float32Array> {
  const own: Record<string, Tensor> = { input_ids: intRow(io.ids, fresh) };
  if (io.mask) own.attention_mask = intRow(io.mask, new Array<number>(past + fresh.length).fill(1));
  if (io.positions) own.position_ids = intRow(io.positions, fresh.map((_, i) => past + i));
  let outputs: Record<string, Tensor> = {};
  try {
    outputs = await model.run({ ...own, ...cache?.feeds() });
    const row = await lastRow(outputs[io.logits]);
    if (keep) cache!.update(outputs); // removes the presents from outputs
    return row;
  } finally {
    for (const t of Object.values(own)) t.dispose();
    for (const t of Object.values(outputs)) t.dispose();
  }
}

/** The last position's row of (B, S, V) or (B, V) logits, batch row 0, as float32. */
async function lastRow(logits: Tensor | undefined): Promise<Float32Array> {
  if (!logits) throw new Error('generate: the step returned no logits');
  const v = logits.dims[logits.dims.length - 1];
  const at = logits.dims.length === 3 ? (logits.dims[1] - 1) * v : 0;
  if (logits.dtype === 'float16') return Float32Array.from((await logits.data<Uint16Array>()).subarray(at, at + v), f16BitsToF32);
  if (logits.dtype !== 'float32') throw new Error(`generate: logits are ${logits.dtype}; expected float32 or float16`);
  return (await logits.data<Float32Array>()).slice(at, at + v);
}

function useAdapter(model: GenerationModel, name: string | undefined): () => void {
  if (name === undefined) return () => {};
  if (!(model instanceof PeftModel)) throw new Error(`generate: adapter '${name}' was requested, but the model is not a PeftModel`);
  const previous = model.activeAdapter;
  model.setAdapter(name);
  return () => {
    if (model.listAdapters().includes(previous)) model.setAdapter(previous);
  };
}

const warned = new WeakSet<Model>();

function recomputeNote(model: Model, hasCache: boolean): string {
  const note = hasCache
    ? `generate: useCache is false, so every step recomputes the whole sequence on '${model.file}'`
    : `generate: '${model.file}' has no past_key_values inputs, so every step recomputes the whole sequence (export it with past inputs for a KV cache)`;
  if (!hasCache && !warned.has(model)) {
    warned.add(model);
    console.warn(note);
  }
  return note;
}

const turns = new WeakMap<Model, Promise<void>>();

/** Waits for the requests on this base model that came first; resolves to the release. */
async function takeTurn(model: Model): Promise<() => void> {
  const before = turns.get(model) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  const tail = before.then(() => done);
  turns.set(model, tail);
  await before;
  return () => {
    release();
    if (turns.get(model) === tail) turns.delete(model);
  };
}
