import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randInt, randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const close = (a: number[], b: number[], digits = 6) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i], digits));

// Golden 2×3 case, by hand:
//   row 0: logits (1, 2, 3), label 2: loss = log(e + e² + e³) − 3 = log(1 + e⁻¹ + e⁻²)
//          = log(1 + 0.36787944 + 0.13533528) = log(1.50321472) = 0.40760596
//   row 1: logits (1, 1, 1), label 0: loss = log 3 = 1.09861229
//   mean = (0.40760596 + 1.09861229) / 2 = 0.75310913
//   dlogits (dLoss = 1, kept = 2): row 0 (softmax − onehot) / 2 =
//          ((e⁻², e⁻¹, 1) / 1.50321472 − (0, 0, 1)) / 2 = (0.04501529, 0.12236424, −0.16737952)
//          row 1 ((1, 1, 1) / 3 − (1, 0, 0)) / 2 = (−1/3, 1/6, 1/6)
const golden = new Tensor('float32', [1, 2, 3, 1, 1, 1], [2, 3]);
const goldenLabels = new Tensor('int32', [2, 0], [2]);

/** Labels in [0, v) with about a quarter of the rows set to ignoreIndex. */
function labelsWithIgnored(n: number, v: number, seed: number, ignoreIndex = -100): Tensor {
  const l = randInt([n], seed, 0, v).hostData<Int32Array>();
  const r = rng(seed + 1);
  for (let i = 0; i < n; i++) if (r() < 0.25) l[i] = ignoreIndex;
  return new Tensor('int32', l, [n]);
}

describe('cpu crossEntropy reference', () => {
  it('golden 2×3 loss and gradient', async () => {
    close(await cpu.crossEntropy(golden, goldenLabels).toArray(), [0.75310913]);
    const dx = cpu.crossEntropyBackward(golden, goldenLabels, new Tensor('float32', [1], [1]));
    close(await dx.toArray(), [0.04501529, 0.12236424, -0.16737952, -1 / 3, 1 / 6, 1 / 6]);
  });
  it('averages over kept rows only (label −100 or a custom ignoreIndex)', async () => {
    close(await cpu.crossEntropy(golden, new Tensor('int32', [2, -100], [2])).toArray(), [0.40760596]);
    close(await cpu.crossEntropy(golden, new Tensor('int32', [2, 0], [2]), 0).toArray(), [0.40760596]);
  });
  it('a fully ignored batch gives loss 0 and zero gradients, not NaN', async () => {
    const none = new Tensor('int32', [-100, -100], [2]);
    expect(await cpu.crossEntropy(golden, none).toArray()).toEqual([0]);
    expect(await cpu.crossEntropyBackward(golden, none, new Tensor('float32', [1], [1])).toArray()).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('rejects bad labels and shapes with clear errors', () => {
    expect(() => cpu.crossEntropy(golden, new Tensor('int32', [3, 0], [2]))).toThrow(/label 3 at row 0 is outside \[0, 3\)/);
    expect(() => cpu.crossEntropy(golden, new Tensor('int32', [0, 0, 0], [3]))).toThrow(/labels \[3\] must have one entry per logits row: expected \[2\]/);
    expect(() => cpu.crossEntropy(golden, new Tensor('float32', [0, 0], [2]))).toThrow(/labels must be int32/);
    expect(() => cpu.crossEntropyBackward(golden, goldenLabels, Tensor.zeros('float32', [2]))).toThrow(/dLoss must be a \(1\) tensor/);
  });
  it('accepts (B, T, V) logits with (B, T) int64 labels', async () => {
    const x = randn([2, 3, 5], 3);
    const l32 = randInt([2, 3], 4, 0, 5);
    const l64 = new Tensor('int64', Array.from(l32.hostData<Int32Array>(), BigInt), [2, 3]);
    expect(await cpu.crossEntropy(x, l64).toArray()).toEqual(await cpu.crossEntropy(x, l32).toArray());
  });

  for (const [n, v] of [[1, 1], [4, 7], [9, 3]] as const) {
    it(`numericGrad wrt logits (${n}, ${v}) with ignored rows`, () => {
      const x = randn([n, v], 50 + v, -3, 3);
      const labels = labelsWithIgnored(n, v, 60 + n);
      const w = Float32Array.of(1.7); // dL/dloss
      const num = numericGrad(([a]) => cpu.crossEntropy(a, labels), [x], 0, w, 1e-2);
      const ana = cpu.crossEntropyBackward(x, labels, new Tensor('float32', w, [1])).hostData<Float32Array>();
      expect(gradError(ana, num)).toBeLessThan(1e-3);
    });
  }
});

describe.skipIf(!hasWebGpu)('webgpu crossEntropy vs cpu', () => {
  // (rows, V): one element, odd rows and vocabularies, a 1000-wide and a GPT-2-wide row.
  const shapes = [[1, 1], [3, 5], [5, 33], [13, 100], [97, 257], [5, 1000], [2, 50257]];
  for (const [n, v] of shapes) {
    it(`loss and dlogits (${n}, ${v})`, async () => {
      const g = await gpu();
      const x = randn([n, v], 70 + n, -6, 6);
      const labels = labelsWithIgnored(n, v, 80 + v);
      const dLoss = new Tensor('float32', [0.75], [1]);
      // Loss is a mean of log-sum-exps of magnitude ≤ ~17: f32 exp/log and sums.
      await expectClose(g.crossEntropy(g.upload(x), g.upload(labels)), cpu.crossEntropy(x, labels), { atol: 1e-5, rtol: 1e-5 }, 'loss');
      // dlogits ∈ [−1, 1]·dLoss/kept; softmax terms carry f32 exp and 1/Σ rounding.
      await expectClose(
        g.crossEntropyBackward(g.upload(x), g.upload(labels), g.upload(dLoss)),
        cpu.crossEntropyBackward(x, labels, dLoss),
        { atol: 1e-7, rtol: 2e-5 },
        'dlogits',
      );
    });
  }
  it('golden 2×3 on the device', async () => {
    const g = await gpu();
    close(await g.crossEntropy(golden, goldenLabels).toArray(), [0.75310913]);
  });
  it('custom ignoreIndex and int64 host labels', async () => {
    const g = await gpu();
    const x = randn([9, 11], 91);
    const labels = labelsWithIgnored(9, 11, 92, 3);
    const l64 = new Tensor('int64', Array.from(labels.hostData<Int32Array>(), BigInt), [9]);
    await expectClose(g.crossEntropy(g.upload(x), l64, 3), cpu.crossEntropy(x, labels, 3), { atol: 1e-6, rtol: 1e-6 }, 'loss');
    const d = new Tensor('float32', [1], [1]);
    await expectClose(g.crossEntropyBackward(g.upload(x), l64, d, 3), cpu.crossEntropyBackward(x, labels, d, 3), { atol: 1e-7, rtol: 1e-5 }, 'dlogits');
  });
  it('a fully ignored batch gives loss 0 and zero gradients, not NaN', async () => {
    const g = await gpu();
    const x = randn([3, 7], 93);
    const none = new Tensor('int32', [-100, -100, -100], [3]);
    expect(await g.crossEntropy(g.upload(x), none).toArray()).toEqual([0]);
    const dx = await g.crossEntropyBackward(g.upload(x), none, new Tensor('float32', [1], [1])).toArray();
    expect(dx.every((v) => v === 0)).toBe(true);
  });
  it('labels outside [0, V) count as ignored on the device (the cpu reference throws)', async () => {
    const g = await gpu();
    const x = randn([3, 7], 94);
    const bad = new Tensor('int32', [2, 9, -5], [3]);
    const asIgnored = new Tensor('int32', [2, -100, -100], [3]);
    await expectClose(g.crossEntropy(g.upload(x), bad), cpu.crossEntropy(x, asIgnored), { atol: 1e-6, rtol: 1e-6 }, 'loss');
  });
});
