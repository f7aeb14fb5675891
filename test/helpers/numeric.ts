/** Seeded random tensors and tolerance checks (`|a − r| ≤ atol + rtol·|r|`, as llm.c's validate_result). */
import { expect } from 'vitest';
import { seededRandom } from '../../src/tensor/random.js';
import { Tensor } from '../../src/tensor/tensor.js';

/** Seeded uniform [0, 1) stream (mulberry32, shared with the library's weight init). */
export const rng = seededRandom;

export function randn(dims: readonly number[], seed: number, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * r();
  return new Tensor('float32', data, dims);
}

export function randInt(dims: readonly number[], seed: number, lo: number, hi: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor((hi - lo) * r());
  return new Tensor('int32', data, dims);
}

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Compares element-wise; on failure names the worst element and its values. */
export async function expectClose(actual: Tensor, expected: Tensor, tol: Tolerance, what = 'tensor'): Promise<void> {
  expect(actual.dims, `${what}: dims`).toEqual(expected.dims);
  const a = await actual.toArray();
  const r = await expected.toArray();
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < r.length; i++) {
    const bound = tol.atol + tol.rtol * Math.abs(r[i]);
    const diff = Math.abs(a[i] - r[i]);
    const bad = !(diff <= bound) && !(Number.isNaN(a[i]) && Number.isNaN(r[i])) && a[i] !== r[i];
    if (bad && (worst < 0 || diff - bound > worstExcess)) {
      worst = i;
      worstExcess = diff - bound;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst} is ${a[worst]}, reference ${r[worst]} ` +
        `(|diff| ${Math.abs(a[worst] - r[worst]).toExponential(3)} > atol ${tol.atol} + rtol ${tol.rtol}·|ref|)`,
    );
  }
}
