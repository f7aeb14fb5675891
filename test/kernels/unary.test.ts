import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { UNARY, type FloatUnaryOp } from '../../src/tensor/cpu/elementwise.js';
import { UNARY_OPS } from '../../src/tensor/webgpu/elementwise.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { UnaryOp } from '../../src/tensor/backend.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();

// Inputs per op kept inside each function's domain (sqrt/log/reciprocal need x > 0).
const POSITIVE = new Set<UnaryOp>(['sqrt', 'log', 'reciprocal']);
const input = (op: UnaryOp, dims: number[], seed: number) =>
  POSITIVE.has(op) ? randn(dims, seed, 0.1, 4) : randn(dims, seed, -4, 4);

const randBool = (dims: number[], seed: number) => {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), dims);
};

describe('cpu unary reference', () => {
  it('erf matches known values', () => {
    expect(UNARY.erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(UNARY.erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(UNARY.erf(3)).toBeCloseTo(0.9999779095030014, 14);
  });
  it('gelu is x·Φ(x)', () => {
    expect(UNARY.gelu(1)).toBeCloseTo(0.8413447460685429, 12);
  });
  it('not flips a bool tensor and rejects floats', async () => {
    const y = cpu.unary('not', new Tensor('bool', [1, 0, 0, 1], [2, 2]));
    expect(y.dtype).toBe('bool');
    expect(await y.toArray()).toEqual([0, 1, 1, 0]);
    expect(() => cpu.unary('not', randn([3], 1))).toThrow(/not: expected bool, got float32/);
    expect(() => cpu.unary('exp', new Tensor('bool', [1], [1]))).toThrow(/unary exp: expected float32, got bool/);
  });
  it('backward uses PyTorch kink conventions: relu′(0) = abs′(0) = 0', async () => {
    const x = new Tensor('float32', [0, 0], [2]);
    const dy = new Tensor('float32', [1, 1], [2]);
    expect(await cpu.unaryBackward('relu', x, dy).toArray()).toEqual([0, 0]);
    expect(Math.abs((await cpu.unaryBackward('abs', x, dy).toArray())[0])).toBe(0);
  });
  it('backward rejects not and mismatched dy', () => {
    expect(() => cpu.unaryBackward('not', new Tensor('bool', [1], [1]), randn([1], 1))).toThrow(/no gradient/);
    expect(() => cpu.unaryBackward('exp', randn([2, 3], 1), randn([3, 2], 2))).toThrow(/dy is \[3, 2\], expected x's \[2, 3\]/);
  });
});

describe('cpu unaryBackward vs central differences', () => {
  for (const op of UNARY_OPS as FloatUnaryOp[]) {
    it(op, () => {
      // Kinks at 0 (relu, abs): keep |x| ≥ 0.05 so x ± eps never crosses them.
      const raw = input(op, [5, 7], 3).hostData<Float32Array>();
      const x = new Tensor('float32', raw.map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v)), [5, 7]);
      const w = randn([5, 7], 4).hostData<Float32Array>();
      const analytic = cpu.unaryBackward(op, x, new Tensor('float32', w, [5, 7])).hostData<Float32Array>();
      const numeric = numericGrad(([t]) => cpu.unary(op, t), [x], 0, w, 1e-3);
      // float32 forward values differenced over 2·eps = 2e-3 (|f| up to ~55, exp(4)):
      // rounding noise dominates; measured ≤ 1e-4 (reciprocal), truncation eps²·f‴/6 below.
      expect(gradError(analytic, numeric)).toBeLessThan(5e-4);
    });
  }
});

describe.skipIf(!hasWebGpu)('webgpu unary vs cpu', () => {
  // 1 element, a non-multiple of the workgroup (256), and a multi-workgroup size.
  for (const dims of [[1], [3, 97], [2, 5, 131]]) {
    for (const op of UNARY_OPS) {
      it(`${op} ${JSON.stringify(dims)}`, async () => {
        const g = await gpu();
        const x = input(op, dims, 17 + dims.length);
        // erf in WGSL is Abramowitz–Stegun 7.1.26 (|err| < 1.5e-7); exp/tanh are f32 builtins.
        await expectClose(g.unary(op, g.upload(x)), cpu.unary(op, x), { atol: 2e-6, rtol: 2e-5 }, op);
      });
    }
  }
  for (const n of [1, 257, 1031]) {
    it(`not on bool [${n}]`, async () => {
      const g = await gpu();
      const x = randBool([n], n);
      const y = g.unary('not', g.upload(x));
      expect(y.dtype).toBe('bool');
      expect(await y.toArray()).toEqual(await cpu.unary('not', x).toArray());
    });
  }
  it('not rejects float32, float ops reject bool', async () => {
    const g = await gpu();
    expect(() => g.unary('not', randn([3], 1))).toThrow(/unary not: expected bool, got float32/);
    expect(() => g.unary('exp', new Tensor('bool', [1], [1]))).toThrow(/unary exp: expected float32, got bool/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu unaryBackward vs cpu', () => {
  for (const dims of [[1], [3, 97], [2, 5, 131]]) {
    for (const op of UNARY_OPS) {
      it(`${op} ${JSON.stringify(dims)}`, async () => {
        const g = await gpu();
        const x = input(op, dims, 31 + dims.length);
        const dy = randn(dims, 41 + dims.length);
        // Same approximations as the forward; reciprocal′ = −1/x² reaches 100 at x = 0.1,
        // hence rtol rather than atol carries the scale.
        await expectClose(g.unaryBackward(op, g.upload(x), g.upload(dy)), cpu.unaryBackward(op, x, dy), { atol: 2e-6, rtol: 2e-5 }, op);
      });
    }
  }
  it('rejects not and mismatched dy', async () => {
    const g = await gpu();
    expect(() => g.unaryBackward('not', new Tensor('bool', [1], [1]), randn([1], 1))).toThrow(/no gradient/);
    expect(() => g.unaryBackward('exp', randn([2, 3], 1), randn([3, 2], 2))).toThrow(/dy is \[3, 2\], expected x's \[2, 3\]/);
  });
});
