/**
 * The dropout mask every backend shares. The keep decision for element `i` of a call
 * with seed `seed` is a pure function of (seed, i), computed in u32 integer arithmetic,
 * so the cpu reference, the WGSL kernels (which mirror `lowbias32` and `keeps` line for
 * line; see kernels/lora_thin.wgsl) and a backward pass that regenerates the mask all
 * agree bit for bit:
 *
 *   key  = lowbias32((seed + 0x9e3779b9) mod 2³²)      once per call (a uniform on the GPU)
 *   keep = lowbias32(key ^ i) ≥ threshold,  threshold = ⌊p · 2³²⌋
 *
 * lowbias32 (C. Wellons' hash-prospector) is a bijection on u32 with low avalanche bias;
 * hashing the seed first keeps neighbouring seeds from giving shifted copies of one mask.
 * Kept values are scaled by 1 / (1 − p) (inverted dropout), as torch.nn.Dropout.
 */
import type { DropoutSpec } from './backend.js';

/** lowbias32: x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (all mod 2³²). */
export function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** The per-call constants of a dropout mask; kernels get them as uniforms. */
export interface DropoutParams {
  p: number;
  /** lowbias32 of the seed. */
  key: number;
  /** Elements whose hash is below it are dropped: ⌊p · 2³²⌋. */
  threshold: number;
  /** 1 / (1 − p). */
  scale: number;
}

/**
 * Checks a DropoutSpec and returns its mask constants, or null when nothing is dropped
 * (no spec, or p = 0), so callers can take a mask-free path. Seeds are integers, taken
 * modulo 2³².
 */
export function dropoutParams(spec: DropoutSpec | undefined, what: string): DropoutParams | null {
  if (!spec) return null;
  const { p, seed } = spec;
  if (!(p >= 0 && p < 1)) throw new Error(`${what}: dropout p = ${p} must be in [0, 1)`);
  if (!Number.isInteger(seed)) throw new Error(`${what}: dropout seed ${seed} must be an integer`);
  if (p === 0) return null;
  const key = lowbias32(((seed % 2 ** 32) + 0x9e3779b9) >>> 0);
  // p < 1, so p · 2³² < 2³² and the floor fits a u32.
  const threshold = Math.min(Math.floor(p * 2 ** 32), 0xffffffff);
  return { p, key, threshold, scale: 1 / (1 - p) };
}

/** Whether element `index` (< 2³²) is kept. */
export function keeps(d: DropoutParams, index: number): boolean {
  return lowbias32((d.key ^ index) >>> 0) >= d.threshold;
}

/** The keep mask (1 = kept) of `n` elements, for references and tests. */
export function dropoutMask(spec: DropoutSpec | undefined, n: number, what = 'dropout'): Uint8Array {
  const d = dropoutParams(spec, what);
  const mask = new Uint8Array(n).fill(1);
  if (d) for (let i = 0; i < n; i++) mask[i] = keeps(d, i) ? 1 : 0;
  return mask;
}
