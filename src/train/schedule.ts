/**
 * Learning-rate schedules as transformers' `get_scheduler` builds them
 * (transformers/optimization.py, the `_get_*_lr_lambda` functions): a multiplier of the
 * base lr for each optimizer step. As with torch's LambdaLR, optimizer step k (0-based)
 * uses multiplier(k): the first step of a warmup runs at lr 0, exactly as in a Trainer run.
 *
 *   warmup (k < W):       k / max(1, W)
 *   constant:             1                         (ignores warmup, as transformers does)
 *   constant_with_warmup: 1
 *   linear:               max(0, (N − k) / max(1, N − W))
 *   cosine:               max(0, ½·(1 + cos(π · 2·cycles · (k − W) / max(1, N − W))))   cycles = 0.5
 *
 * with W warmup steps and N total optimizer steps.
 */

export type SchedulerName = 'constant' | 'constant_with_warmup' | 'linear' | 'cosine';

export const SCHEDULERS: readonly SchedulerName[] = ['constant', 'constant_with_warmup', 'linear', 'cosine'];

export interface ScheduleOptions {
  /** W: steps of linear warmup from 0 (default 0). */
  warmupSteps?: number;
  /** N: total optimizer steps (linear and cosine need it). */
  totalSteps?: number;
  /** Cosine waves over the decay (default 0.5: one half-wave from 1 to 0). */
  numCycles?: number;
}

/** The lr multiplier for optimizer step k (0-based). */
export type Schedule = (k: number) => number;

export function getSchedule(name: SchedulerName, opts: ScheduleOptions = {}): Schedule {
  if (!SCHEDULERS.includes(name)) throw new Error(`scheduler '${name}' is not one of ${SCHEDULERS.join(', ')}`);
  const W = opts.warmupSteps ?? 0;
  if (!Number.isInteger(W) || W < 0) throw new Error(`scheduler ${name}: warmupSteps must be an integer ≥ 0, got ${W}`);
  const N = opts.totalSteps;
  if ((name === 'linear' || name === 'cosine') && !(Number.isInteger(N) && N! >= 0)) {
    throw new Error(`scheduler ${name}: totalSteps must be an integer ≥ 0, got ${N}`);
  }
  const cycles = opts.numCycles ?? 0.5;
  const warm = (k: number) => k / Math.max(1, W);
  switch (name) {
    case 'constant':
      return () => 1;
    case 'constant_with_warmup':
      return (k) => (k < W ? warm(k) : 1);
    case 'linear':
      return (k) => (k < W ? warm(k) : Math.max(0, (N! - k) / Math.max(1, N! - W)));
    case 'cosine':
      return (k) => {
        if (k < W) return warm(k);
        const progress = (k - W) / Math.max(1, N! - W);
        return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * cycles * 2 * progress)));
      };
  }
}
