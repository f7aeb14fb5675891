/**
 * Next-token selection on one row of logits (V,), as transformers' logits processors do
 * it and in their order: repetition penalty → temperature → top-k → top-p → sample (or
 * argmax when greedy). Every function is pure: it returns a new row and leaves its input
 * alone. Filtered-out tokens get -Infinity, so softmax gives them probability 0.
 */
export interface SamplingOptions {
  /**
   * Logits are divided by this before sampling. 0 means greedy (argmax). When undefined,
   * decoding is greedy unless `topK` or `topP` is given (then it samples at 1).
   */
  temperature?: number;
  /** Keep the k most likely tokens (ties with the k-th are kept, as transformers). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (nucleus). */
  topP?: number;
  /** > 1 discourages tokens already in the sequence (prompt included), as transformers. */
  repetitionPenalty?: number;
}

/** True when these options pick the argmax rather than draw from the distribution. */
export function isGreedy(opts: SamplingOptions): boolean {
  if (opts.temperature !== undefined) return opts.temperature === 0;
  return opts.topK === undefined && opts.topP === undefined;
}

/** Rejects options that transformers would reject, before anything runs. */
export function checkSamplingOptions(opts: SamplingOptions): void {
  const { temperature: t, topK: k, topP: p, repetitionPenalty: r } = opts;
  if (t !== undefined && !(t >= 0 && Number.isFinite(t))) throw new Error(`temperature must be a finite number ≥ 0 (0 = greedy), got ${t}`);
  if (k !== undefined && !(Number.isInteger(k) && k > 0)) throw new Error(`topK must be an integer ≥ 1, got ${k}`);
  if (p !== undefined && !(p > 0 && p <= 1)) throw new Error(`topP must be in (0, 1], got ${p}`);
  if (r !== undefined && !(r > 0 && Number.isFinite(r))) throw new Error(`repetitionPenalty must be a finite number > 0, got ${r}`);
}

/** Index of the largest logit; the lowest index wins a tie (as torch.argmax). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * transformers' RepetitionPenaltyLogitsProcessor: for each distinct token already present,
 * a positive logit is divided by the penalty and a negative one multiplied by it.
 */
export function applyRepetitionPenalty(logits: Float32Array, previous: Iterable<number>, penalty: number): Float32Array {
  const out = logits.slice();
  if (penalty === 1) return out;
  for (const id of new Set(previous)) {
    if (id < 0 || id >= out.length) continue;
    const l = logits[id];
    out[id] = l < 0 ? l * penalty : l / penalty;
  }
  return out;
}

export function applyTemperature(logits: Float32Array, temperature: number): Float32Array {
  if (!(temperature > 0)) throw new Error(`applyTemperature: temperature must be > 0, got ${temperature} (use argmax for greedy)`);
  return logits.map((l) => l / temperature);
}

/** transformers' TopKLogitsWarper: every logit below the k-th largest becomes -Infinity. */
export function topKFilter(logits: Float32Array, k: number): Float32Array {
  if (k >= logits.length) return logits.slice();
  const kth = Float32Array.from(logits).sort()[logits.length - Math.max(1, k)]; // ascending sort
  return logits.map((l) => (l < kth ? -Infinity : l));
}

/**
 * transformers' TopPLogitsWarper: a token is kept when the probability of the tokens
 * ranked above it is below p, so the kept set is the smallest whose mass reaches p; the
 * most likely token is always kept. Ties are ranked by index.
 */
export function topPFilter(logits: Float32Array, p: number): Float32Array {
  if (p >= 1) return logits.slice();
  const probs = softmax(logits);
  const order = Array.from(logits.keys()).sort((a, b) => probs[b] - probs[a] || a - b);
  const out = new Float32Array(logits.length).fill(-Infinity);
  let above = 0;
  for (const [rank, i] of order.entries()) {
    if (rank > 0 && above >= p) break;
    out[i] = logits[i];
    above += probs[i];
  }
  return out;
}

/** Probabilities in float64 (max-subtracted, so large logits do not overflow). */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const l of logits) if (l > max) max = l;
  if (max === -Infinity) throw new Error('softmax: every logit is -Infinity');
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Draws an index from softmax(logits) with one uniform number u ∈ [0, 1) (inverse CDF). */
export function sampleIndex(logits: Float32Array, u: number): number {
  const probs = softmax(logits);
  let acc = 0;
  let last = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    last = i;
    acc += probs[i];
    if (u < acc) return i;
  }
  return last; // rounding left acc just under 1
}

/** The filtered, scaled logits that sampling draws from (all processors but the draw). */
export function processLogits(logits: Float32Array, opts: SamplingOptions, previous: readonly number[]): Float32Array {
  let row = opts.repetitionPenalty !== undefined ? applyRepetitionPenalty(logits, previous, opts.repetitionPenalty) : logits;
  if (isGreedy(opts)) return row === logits ? logits.slice() : row;
  row = applyTemperature(row, opts.temperature ?? 1);
  if (opts.topK !== undefined) row = topKFilter(row, opts.topK);
  if (opts.topP !== undefined) row = topPFilter(row, opts.topP);
  return row;
}

/**
 * The next token: argmax when greedy, else one draw from `rand` (a seededRandom stream),
 * so the same seed and logits give the same tokens. `previous` is the sequence so far
 * (prompt and generated tokens), used by the repetition penalty.
 */
export function nextToken(logits: Float32Array, opts: SamplingOptions, previous: readonly number[], rand: () => number): number {
  const row = processLogits(logits, opts, previous);
  return isGreedy(opts) ? argmax(row) : sampleIndex(row, rand());
}
