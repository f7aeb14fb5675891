/** Schedules vs values worked by hand from transformers' lr lambdas (optimization.py). */
import { describe, expect, it } from 'vitest';
import { getSchedule } from '../../src/train/schedule.js';

const at = (f: (k: number) => number, ks: number[]) => ks.map(f);

describe('lr schedules (transformers get_scheduler)', () => {
  it('constant: 1 everywhere, warmup ignored as transformers does', () => {
    expect(at(getSchedule('constant', { warmupSteps: 5, totalSteps: 10 }), [0, 3, 9, 50])).toEqual([1, 1, 1, 1]);
  });

  it('constant_with_warmup: k / W, then 1; step 0 runs at lr 0', () => {
    expect(at(getSchedule('constant_with_warmup', { warmupSteps: 4 }), [0, 1, 2, 3, 4, 100])).toEqual([0, 0.25, 0.5, 0.75, 1, 1]);
  });

  it('linear, W = 2, N = 10: warmup then (N − k) / (N − W)', () => {
    // k: 0, 1 → 0, 1/2; k ≥ 2 → (10 − k) / 8: 1, 7/8, 6/8, ..., 0 at k = 10, clamped at 0 after.
    const f = getSchedule('linear', { warmupSteps: 2, totalSteps: 10 });
    expect(at(f, [0, 1, 2, 3, 6, 9, 10, 12])).toEqual([0, 0.5, 1, 0.875, 0.5, 0.125, 0, 0]);
  });

  it('linear without warmup starts at 1 and reaches 0 at N', () => {
    expect(at(getSchedule('linear', { totalSteps: 4 }), [0, 1, 2, 3, 4])).toEqual([1, 0.75, 0.5, 0.25, 0]);
  });

  it('cosine, W = 2, N = 10: ½(1 + cos(π·(k − W)/(N − W)))', () => {
    // progress p = (k − 2) / 8: k = 4 → p = 1/4, ½(1 + cos(π/4)) = ½ + √2/4 ≈ 0.853553;
    // k = 6 → p = 1/2 → 0.5; k = 8 → p = 3/4 → ½ − √2/4 ≈ 0.146447; k = 10 → 0.
    const f = getSchedule('cosine', { warmupSteps: 2, totalSteps: 10 });
    const want = [0, 0.5, 1, 0.5 + Math.SQRT2 / 4, 0.5, 0.5 - Math.SQRT2 / 4, 0];
    const got = at(f, [0, 1, 2, 4, 6, 8, 10]);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 15));
    // Past N the half-wave turns back up in transformers' formula (cos is even); it is not clamped to 0.
    expect(f(12)).toBeCloseTo(0.5 * (1 + Math.cos(Math.PI * 1.25)), 15);
  });

  it('refuses bad shapes', () => {
    expect(() => getSchedule('linear', {})).toThrow(/totalSteps must be an integer/);
    expect(() => getSchedule('cosine', { totalSteps: 5, warmupSteps: -1 })).toThrow(/warmupSteps must be an integer ≥ 0/);
    expect(() => getSchedule('exponential' as 'linear', { totalSteps: 1 })).toThrow(/is not one of constant, constant_with_warmup, linear, cosine/);
  });
});
