/**
 * Initial adapter weights as PEFT's `init_lora_weights` makes them (peft/tuners/lora/layer.py
 * `reset_lora_parameters`):
 *   true:       A ~ kaiming_uniform(a = √5) = U(−1/√in, 1/√in), B = 0 (the adapter starts as a no-op);
 *   'gaussian': A ~ N(0, 1/r), B = 0;
 *   false:      A as for true, B as nn.Linear(r, out)'s default, U(−1/√r, 1/√r) (not a no-op; for tests).
 * Draws come from a seeded generator, so the same seed gives the same adapter.
 */
import { Tensor } from '../../tensor/tensor.js';

export { seededRandom } from '../../tensor/random.js';

export type LoraInit = boolean | 'gaussian';

const uniform = (rand: () => number, n: number, bound: number) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * bound);

function gaussian(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/** A (r, in) and B (out, r) on the host. */
export function initLora(init: LoraInit, r: number, inFeatures: number, outFeatures: number, rand: () => number): { a: Tensor; b: Tensor } {
  const a = init === 'gaussian' ? gaussian(rand, r * inFeatures, 1 / r) : uniform(rand, r * inFeatures, 1 / Math.sqrt(inFeatures));
  const b = init === false ? uniform(rand, outFeatures * r, 1 / Math.sqrt(r)) : new Float32Array(outFeatures * r);
  return { a: new Tensor('float32', a, [r, inFeatures]), b: new Tensor('float32', b, [outFeatures, r]) };
}
