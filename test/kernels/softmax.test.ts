import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import type { SoftmaxOptions } from '../../src/tensor/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randn } from '../helpers/numeric.js';

const cpu = new CpuBackend();

const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 6));
const mask = (rows: number[][], dtype: 'bool' | 'int32' | 'int64' | 'float32' = 'bool') =>
  new Tensor(dtype, rows.flat(), [rows.length, rows[0].length]);

describe('cpu softmax reference', () => {
  it('golden: softmax(0, ln 2, ln 3) = (1, 2, 3) / 6', async () => {
    close(await cpu.softmax(new Tensor('float32', [0, Math.log(2), Math.log(3)], [1, 3])).toArray(), [1 / 6, 1 / 3, 1 / 2]);
  });
  it('is shift-invariant and stable for large inputs', async () => {
    const e = Math.E;
    close(await cpu.softmax(new Tensor('float32', [1000, 1001], [2])).toArray(), [1 / (1 + e), e / (1 + e)]);
  });
  it('causal with a KV offset: Tq = 2, Tk = 4 masks j > i + 2', async () => {
    const y = cpu.softmax(Tensor.zeros('float32', [1, 1, 2, 4]), { causal: true });
    close(await y.toArray(), [1 / 3, 1 / 3, 1 / 3, 0, 1 / 4, 1 / 4, 1 / 4, 1 / 4]);
  });
  it('keyMask pads keys; a fully masked row is zeros, not NaN', async () => {
    const y = cpu.softmax(Tensor.zeros('float32', [2, 1, 1, 3]), { keyMask: mask([[1, 1, 0], [0, 0, 0]]) });
    close(await y.toArray(), [0.5, 0.5, 0, 0, 0, 0]);
    // Causal with Tq > Tk: query 0 sees no key at all.
    close(await cpu.softmax(Tensor.zeros('float32', [3, 2]), { causal: true }).toArray(), [0, 0, 1, 0, 0.5, 0.5]);
    // A row of −∞ (an additive mask) is also zeros.
    close(await cpu.softmax(new Tensor('float32', [-Infinity, -Infinity], [1, 2])).toArray(), [0, 0]);
  });
  it('rejects a keyMask that does not fit (B, H, Tq, Tk)', () => {
    const x = Tensor.zeros('float32', [2, 3, 4, 5]);
    expect(() => cpu.softmax(x, { keyMask: Tensor.zeros('bool', [2, 4]) })).toThrow(/keyMask \[2, 4\] does not fit x \[2, 3, 4, 5\]/);
    expect(() => cpu.softmax(x, { keyMask: Tensor.zeros('bool', [5, 5]) })).toThrow(/does not fit/);
    expect(() => cpu.softmax(x, { keyMask: Tensor.zeros('bool', [1, 5]) })).toThrow(/B = 1 but x \[2, 3, 4, 5\] has B = 2/);
  });

  // L = Σ softmax(x) ⊙ w; softmaxBackward(y, dy = w) must match central differences.
  const cases: [number[], SoftmaxOptions][] = [
    [[3, 5], {}],
    [[1, 1], {}],
    [[2, 2, 3, 5], { causal: true }],
    [[2, 1, 2, 4], { keyMask: mask([[1, 0, 1, 1], [0, 1, 1, 0]]) }],
    [[2, 2, 2, 3], { causal: true, keyMask: mask([[1, 1, 0], [0, 0, 0]]) }],
  ];
  for (const [dims, opts] of cases) {
    it(`numericGrad ${JSON.stringify(dims)} ${Object.keys(opts).join('+') || 'plain'}`, () => {
      const x = randn(dims, 21, -2, 2);
      const w = randn(dims, 22);
      const num = numericGrad(([a]) => cpu.softmax(a, opts), [x], 0, w.hostData<Float32Array>(), 1e-2);
      const ana = cpu.softmaxBackward(cpu.softmax(x, opts), w).hostData<Float32Array>();
      expect(gradError(ana, num)).toBeLessThan(1e-3);
    });
  }
});

describe.skipIf(!hasWebGpu)('webgpu softmax vs cpu', () => {
  // Row lengths 1, 5, 33, 100, 257, 1000, 3000 and a GPT-2-vocabulary row; 1, 3, 97 rows. The
  // launcher gives ~32 elements per thread: 1, 2, 4, 16, 32, 128 and 256 threads per row.
  const shapes = [[1, 1], [131, 1], [3, 5], [97, 5], [5, 33], [13, 100], [97, 257], [3, 1000], [2, 3000], [1, 50257]];
  // Probabilities in [0, 1]: f32 exp and a 256-way f32 sum against float64.
  const tol = { atol: 1e-7, rtol: 2e-5 };
  for (const dims of shapes) {
    it(`softmax ${JSON.stringify(dims)}`, async () => {
      const g = await gpu();
      const x = randn(dims, 31, -8, 8);
      await expectClose(g.softmax(g.upload(x)), cpu.softmax(x), tol, 'softmax');
    });
    it(`softmaxBackward ${JSON.stringify(dims)}`, async () => {
      const g = await gpu();
      const y = cpu.softmax(randn(dims, 32, -3, 3));
      const dy = randn(dims, 33);
      // |dx| ≤ max|y|·(|dy| + |Σ dy·y|); errors come from the f32 dot product.
      await expectClose(g.softmaxBackward(g.upload(y), g.upload(dy)), cpu.softmaxBackward(y, dy), { atol: 1e-6, rtol: 1e-5 }, 'dx');
    });
  }

  const masked: [string, number[], SoftmaxOptions][] = [
    ['causal Tq < Tk (KV cache offset)', [2, 3, 5, 9], { causal: true }],
    ['causal Tq > Tk (first rows fully masked)', [1, 2, 7, 4], { causal: true }],
    ['causal rank 3, 257 keys', [2, 3, 257], { causal: true }],
    ['bool keyMask, one batch entry fully padded', [3, 2, 4, 6], { keyMask: mask([[1, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]) }],
    ['int32 keyMask (B, Tk) on (B, H, 1, Tk)', [2, 3, 1, 5], { keyMask: mask([[1, 0, 1, 0, 1], [0, 1, 1, 1, 0]], 'int32') }],
    ['int64 keyMask (narrowed on upload)', [2, 1, 3, 5], { keyMask: mask([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], 'int64') }],
    ['float32 keyMask + causal', [2, 2, 3, 5], { causal: true, keyMask: mask([[0, 1, 1, 1, 1], [1, 1, 0, 1, 1]], 'float32') }],
  ];
  for (const [name, dims, opts] of masked) {
    it(name, async () => {
      const g = await gpu();
      const x = randn(dims, 41, -4, 4);
      const y = g.softmax(g.upload(x), opts);
      const ref = cpu.softmax(x, opts);
      await expectClose(y, ref, tol, name);
      const ys = await y.toArray();
      expect(ys.every((v) => Number.isFinite(v))).toBe(true);
    });
  }

  it('rows of −∞ (additive masks) give zeros, not NaN', async () => {
    const g = await gpu();
    const x = new Tensor('float32', [-Infinity, -Infinity, -Infinity, 0, -Infinity, 1], [2, 3]);
    await expectClose(g.softmax(g.upload(x)), cpu.softmax(x), tol, '−∞ rows');
  });
});
