/**
 * The logits processors against distributions computed by hand, and sampling against
 * them by frequency. Semantics follow transformers' RepetitionPenaltyLogitsProcessor,
 * TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper.
 */
import { describe, expect, it } from 'vitest';
import {
  applyRepetitionPenalty, applyTemperature, argmax, checkSamplingOptions, isGreedy, nextToken, processLogits, sampleIndex, softmax, topKFilter, topPFilter,
} from '../../src/generate/sampling.js';
import { seededRandom } from '../../src/tensor/random.js';

const row = (...v: number[]) => Float32Array.from(v);
const logOf = (...p: number[]) => Float32Array.from(p, Math.log);
const close = (got: ArrayLike<number>, want: number[], digits = 6) => want.forEach((w, i) => expect(got[i], `[${i}]`).toBeCloseTo(w, digits));

describe('logits processors', () => {
  it('softmax of log-probabilities gives them back, and -Infinity gives 0', () => {
    close(softmax(logOf(1, 2, 4)), [1 / 7, 2 / 7, 4 / 7]);
    close(softmax(row(1000, 1000, -Infinity)), [0.5, 0.5, 0]); // max-subtracted: no overflow
    expect(() => softmax(row(-Infinity, -Infinity))).toThrow(/every logit/);
  });

  it('argmax takes the lowest index on a tie, as torch.argmax', () => {
    expect(argmax(row(1, 3, 2, 3))).toBe(1);
    expect(argmax(row(-5))).toBe(0);
  });

  it('repetition penalty divides positive and multiplies negative logits of tokens present, once each', () => {
    const l = row(2, -2, 1, 0.5, 0);
    const out = applyRepetitionPenalty(l, [0, 1, 1, 4, 4], 2);
    close(out, [1, -4, 1, 0.5, 0]);
    close(l, [2, -2, 1, 0.5, 0]); // input untouched
    close(applyRepetitionPenalty(l, [0, 1], 0.5), [4, -1, 1, 0.5, 0]); // < 1 encourages
  });

  it('temperature divides every logit', () => {
    close(applyTemperature(row(1, 2, -3), 0.5), [2, 4, -6]);
    // T = 2 flattens: p ∝ [1, 4, 16]^(1/2) = [1, 2, 4]
    close(softmax(applyTemperature(logOf(1, 4, 16), 2)), [1 / 7, 2 / 7, 4 / 7]);
    expect(() => applyTemperature(row(1), 0)).toThrow(/> 0/);
  });

  it('top-k keeps the k largest, and every tie with the k-th', () => {
    expect(Array.from(topKFilter(row(1, 3, 2, 3), 2))).toEqual([-Infinity, 3, -Infinity, 3]);
    expect(Array.from(topKFilter(row(1, 3, 2, 3), 3))).toEqual([-Infinity, 3, 2, 3]);
    expect(Array.from(topKFilter(row(1, 4, 2, 3), 2))).toEqual([-Infinity, 4, -Infinity, 3]);
    expect(Array.from(topKFilter(row(1, 2), 5))).toEqual([1, 2]);
    // k = 2 over p ∝ [1, 2, 3, 4]: renormalised over {3, 4}
    close(softmax(topKFilter(logOf(1, 2, 3, 4), 2)), [0, 0, 3 / 7, 4 / 7]);
  });

  it('top-p keeps the smallest set reaching p, and always the most likely token', () => {
    const l = logOf(0.15, 0.5, 0.05, 0.3);
    // above 0.5: 0 · above 0.3: 0.5 · above 0.15: 0.8 · above 0.05: 0.95
    close(softmax(topPFilter(l, 0.75)), [0, 0.5 / 0.8, 0, 0.3 / 0.8]);
    close(softmax(topPFilter(l, 0.85)), [0.15 / 0.95, 0.5 / 0.95, 0, 0.3 / 0.95]);
    close(softmax(topPFilter(l, 0.4)), [0, 1, 0, 0]);
    close(softmax(topPFilter(l, 0.01)), [0, 1, 0, 0]);
    close(softmax(topPFilter(l, 1)), [0.15, 0.5, 0.05, 0.3]);
  });

  it('processLogits applies penalty → temperature → top-k → top-p, as transformers orders them', () => {
    // logits ln[4, 1, 2, 8]; token 3 seen, penalty 2 → 8 becomes ln(8)/2 = ln(√8) ≈ ln 2.83
    const l = logOf(4, 1, 2, 8);
    const p = processLogits(l, { repetitionPenalty: 2, temperature: 1, topK: 2 }, [3]);
    close(softmax(p), [4 / (4 + Math.sqrt(8)), 0, 0, Math.sqrt(8) / (4 + Math.sqrt(8))]);
    // then top-p 0.5 keeps only the larger of the two
    close(softmax(processLogits(l, { repetitionPenalty: 2, temperature: 1, topK: 2, topP: 0.5 }, [3])), [1, 0, 0, 0]);
  });
});

describe('choosing the next token', () => {
  it('is greedy at temperature 0 or with no sampling option; samples otherwise', () => {
    expect(isGreedy({})).toBe(true);
    expect(isGreedy({ temperature: 0, topK: 5 })).toBe(true);
    expect(isGreedy({ repetitionPenalty: 1.3 })).toBe(true);
    expect(isGreedy({ temperature: 0.7 })).toBe(false);
    expect(isGreedy({ topP: 0.9 })).toBe(false);
  });

  it('greedy takes the argmax after the repetition penalty', () => {
    const never = () => {
      throw new Error('greedy must not draw');
    };
    expect(nextToken(row(3, 2.5), {}, [0], never)).toBe(0);
    expect(nextToken(row(3, 2.5), { repetitionPenalty: 1.5 }, [0], never)).toBe(1); // 3 / 1.5 = 2 < 2.5
  });

  it('sampleIndex inverts the CDF and skips zero-probability tokens', () => {
    const l = logOf(1, 2, 4); // CDF 1/7, 3/7, 1
    expect([0, 0.1, 0.2, 0.5, 0.999].map((u) => sampleIndex(l, u))).toEqual([0, 0, 1, 2, 2]);
    expect(sampleIndex(row(-Infinity, 0, -Infinity), 0.999999)).toBe(1);
  });

  it('draw frequencies match the hand-computed distribution (temperature 2, top-k 3 over p ∝ [1, 4, 9, 16, 25])', () => {
    // T = 2 → p ∝ [1, 2, 3, 4, 5]; top-k 3 → {3, 4, 5} / 12
    const l = logOf(1, 4, 9, 16, 25);
    const want = [0, 0, 3 / 12, 4 / 12, 5 / 12];
    const rand = seededRandom(7);
    const n = 20_000;
    const counts = new Array<number>(5).fill(0);
    for (let i = 0; i < n; i++) counts[nextToken(l, { temperature: 2, topK: 3 }, [], rand)]++;
    // 4 standard deviations of a binomial frequency at p ≤ 0.5: 4·√(0.25/n) ≈ 0.014
    counts.forEach((c, i) => expect(Math.abs(c / n - want[i]), `token ${i}`).toBeLessThan(0.014));
  });

  it('the same seed gives the same draws; another seed other draws', () => {
    const l = logOf(1, 1, 1, 1, 1, 1, 1, 1);
    const draws = (seed: number) => {
      const r = seededRandom(seed);
      return Array.from({ length: 32 }, () => nextToken(l, { temperature: 1 }, [], r));
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
  });

  it('rejects options transformers would reject', () => {
    expect(() => checkSamplingOptions({ temperature: -1 })).toThrow(/temperature/);
    expect(() => checkSamplingOptions({ topK: 0 })).toThrow(/topK/);
    expect(() => checkSamplingOptions({ topK: 1.5 })).toThrow(/topK/);
    expect(() => checkSamplingOptions({ topP: 0 })).toThrow(/topP/);
    expect(() => checkSamplingOptions({ topP: 1.1 })).toThrow(/topP/);
    expect(() => checkSamplingOptions({ repetitionPenalty: 0 })).toThrow(/repetitionPenalty/);
    expect(() => checkSamplingOptions({ temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1 })).not.toThrow();
  });
});
