import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import type { ReduceOp } from '../../src/tensor/backend.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randInt, randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const OPS: ReduceOp[] = ['sum', 'mean', 'max'];

/** Distinct values ≥ 0.1 apart (a shuffled ramp), so a ±eps probe never changes which element is the max. */
function distinct(dims: number[], seed: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const v = Float32Array.from({ length: n }, (_, i) => 0.1 * i - 0.05 * n);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return new Tensor('float32', v, dims);
}

/** Small integers as floats: many ties, to exercise max's even split. */
function ties(dims: number[], seed: number): Tensor {
  return new Tensor('float32', Float32Array.from(randInt(dims, seed, 0, 3).hostData<Int32Array>()), dims);
}

describe('cpu reduce reference', () => {
  const x = new Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]);
  it('golden sum / mean / max, keepDims both ways, negative and empty axes', async () => {
    expect(await cpu.reduce('sum', x, [1], false).toArray()).toEqual([6, 15]);
    expect(await cpu.reduce('mean', x, [0], true).toArray()).toEqual([2.5, 3.5, 4.5]);
    expect(cpu.reduce('mean', x, [0], true).dims).toEqual([1, 3]);
    expect(await cpu.reduce('max', x, [-1], true).toArray()).toEqual([3, 6]);
    expect(cpu.reduce('max', x, [-1], true).dims).toEqual([2, 1]);
    expect(await cpu.reduce('sum', x, [], false).toArray()).toEqual([21]);
    expect(cpu.reduce('sum', x, [], false).dims).toEqual([]);
    expect(cpu.reduce('sum', x, [], true).dims).toEqual([1, 1]);
  });
  it('empty reductions: sum 0, mean NaN, max −∞', async () => {
    const e = Tensor.zeros('float32', [0, 2]);
    expect(await cpu.reduce('sum', e, [0], false).toArray()).toEqual([0, 0]);
    expect(await cpu.reduce('mean', e, [0], false).toArray()).toEqual([NaN, NaN]);
    expect(await cpu.reduce('max', e, [0], false).toArray()).toEqual([-Infinity, -Infinity]);
  });
  it('rejects bad axes and dy shapes with clear errors', () => {
    expect(() => cpu.reduce('sum', x, [2], false)).toThrow(/axis 2 is out of range for rank 2/);
    expect(() => cpu.reduce('sum', x, [1, -1], false)).toThrow(/listed twice/);
    expect(() => cpu.reduceBackward('sum', x, [1], false, Tensor.zeros('float32', [3]))).toThrow(/dy is \[3\], expected \[2\]/);
  });
  it('max backward splits the gradient evenly among ties (torch.amax)', async () => {
    const t = new Tensor('float32', [1, 3, 3, 2, 5, 0], [2, 3]);
    const dx = cpu.reduceBackward('max', t, [1], false, new Tensor('float32', [6, 10], [2]));
    expect(await dx.toArray()).toEqual([0, 3, 3, 0, 10, 0]);
  });

  // Central differences of L = Σ reduce(x) ⊙ w against reduceBackward(dy = w).
  const cases: [number[], number[], boolean][] = [
    [[3, 4, 5], [1], false],
    [[3, 4, 5], [0, 2], true],
    [[2, 3, 2, 3], [-1, 1], false],
    [[7], [], false],
  ];
  for (const op of OPS) {
    for (const [dims, axes, keep] of cases) {
      it(`numericGrad ${op} ${JSON.stringify(dims)} axes ${JSON.stringify(axes)} keepDims=${keep}`, () => {
        const x = distinct(dims, 5 + dims.length);
        const yDims = cpu.reduce(op, x, axes, keep).dims;
        const w = randn(yDims, 11);
        const num = numericGrad(([a]) => cpu.reduce(op, a, axes, keep), [x], 0, w.hostData<Float32Array>(), 1e-2);
        const ana = cpu.reduceBackward(op, x, axes, keep, w).hostData<Float32Array>();
        // float32 loss differences over 2·eps = 0.02: ~1e-5 relative noise.
        expect(gradError(ana, num)).toBeLessThan(1e-3);
      });
    }
  }
});

describe.skipIf(!hasWebGpu)('webgpu reduce vs cpu', () => {
  // Odd sizes; interleaved axes (4 groups); few long outputs (split into partials: 97·131 =
  // 12707 and 3 × 5000 rows, 6000 × 3 columns); many short rows and columns; rank 0.
  const cases: [number[], number[]][] = [
    [[1], []],
    [[], []],
    [[3, 97], [1]],
    [[3, 97], [0]],
    [[97, 5], [-1]],
    [[13, 100], [1]],
    [[2, 5, 131], [1]],
    [[2, 5, 131], [0, 2]],
    [[4, 3, 5, 7], [0, 2]],
    [[4, 3, 5, 7], [1, 3]],
    [[1000, 3], [0]],
    [[97, 131], []],
    [[3, 5000], [1]],
    [[6000, 3], [0]],
    [[257, 1, 3], [1]],
  ];
  for (const [dims, axes] of cases) {
    for (const op of OPS) {
      const keep = dims.length % 2 === 0;
      it(`${op} ${JSON.stringify(dims)} axes ${JSON.stringify(axes)}`, async () => {
        const g = await gpu();
        const x = randn(dims, 3 + dims.length, -1, 1);
        // f32 sums of up to 12707 values in [-1, 1] against a float64 reference.
        const tol = op === 'max' ? { atol: 0, rtol: 0 } : { atol: 2e-5, rtol: 1e-5 };
        await expectClose(g.reduce(op, g.upload(x), axes, keep), cpu.reduce(op, x, axes, keep), tol, op);
        await expectClose(g.reduce(op, g.upload(x), axes, !keep), cpu.reduce(op, x, axes, !keep), tol, `${op} keepDims=${!keep}`);
      });
      it(`${op} backward ${JSON.stringify(dims)} axes ${JSON.stringify(axes)}`, async () => {
        const g = await gpu();
        const x = op === 'max' ? ties(dims, 7) : randn(dims, 7);
        const dy = randn(cpu.reduce(op, x, axes, keep).dims, 9);
        // dy / count and dy / r are single roundings on both sides.
        await expectClose(g.reduceBackward(op, g.upload(x), axes, keep, g.upload(dy)), cpu.reduceBackward(op, x, axes, keep, dy), { atol: 1e-7, rtol: 1e-6 }, op);
      });
    }
  }
  it('empty reductions match the reference (sum 0, mean NaN, max −∞)', async () => {
    const g = await gpu();
    const e = Tensor.zeros('float32', [0, 3]);
    for (const op of OPS) await expectClose(g.reduce(op, g.upload(e), [0], false), cpu.reduce(op, e, [0], false), { atol: 0, rtol: 0 }, op);
    expect(g.reduce('sum', g.upload(e), [1], false).dims).toEqual([0]);
  });
  it('names the limit when axes interleave into more than 4 runs', async () => {
    const g = await gpu();
    const x = Tensor.zeros('float32', [2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(() => g.reduce('sum', x, [0, 2, 4, 6, 8], false)).toThrow(/more than 4 kept or reduced runs/);
  });
});
