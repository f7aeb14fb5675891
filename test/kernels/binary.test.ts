import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { BINARY_OPS } from '../../src/tensor/webgpu/binary.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { BinaryOp } from '../../src/tensor/backend.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randInt, randn, rng, type Tolerance } from '../helpers/numeric.js';

const cpu = new CpuBackend();

type Arith = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min';
const ARITH: Arith[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'];
const COMPARE: BinaryOp[] = ['equal', 'less', 'greater', 'less_equal', 'greater_equal'];

/**
 * Broadcast patterns: same shape, scalar, row, column, rank-mismatched, both-sided, rank 6;
 * the last four have an innermost dim divisible by 4 (the kernels' four-outputs-per-thread path).
 */
const PATTERNS: [number[], number[]][] = [
  [[97], [97]],
  [[3, 131], [1]],
  [[1], [5, 67]],
  [[7, 131], [131]],
  [[131, 1], [131, 3]],
  [[3, 1, 5], [1, 4, 1]],
  [[2, 3, 4, 5], [3, 1, 5]],
  [[2, 1, 3, 1, 5, 1], [1, 4, 1, 2, 1, 3]],
  [[260], [260]],
  [[9, 132], [132]],
  [[31, 4], [31, 1]],
  [[5, 1, 12], [1, 3, 12]],
];
const name = (a: number[], b: number[]) => `${JSON.stringify(a)} ∘ ${JSON.stringify(b)}`;

/** Integer-valued floats, so comparisons see ties. */
const randIntF = (dims: number[], seed: number, lo: number, hi: number) =>
  new Tensor('float32', Float32Array.from(randInt(dims, seed, lo, hi).hostData<Int32Array>()), dims);

const randBool = (dims: number[], seed: number) => {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), dims);
};

/** Magnitudes in [0.5, 2.5) with random sign: divisors away from 0. */
function awayFromZero(dims: number[], seed: number): Tensor {
  const v = randn(dims, seed, -2, 2).hostData<Float32Array>();
  return new Tensor('float32', v.map((x) => Math.sign(x || 1) * (0.5 + Math.abs(x))), dims);
}

/** Operands for op: pow keeps a > 0; max/min keep |a − b| ≥ 0.05 (grid offset) so x ± eps never crosses a tie. */
function operands(op: Arith, da: number[], db: number[], seed: number): [Tensor, Tensor] {
  if (op === 'pow') return [randn(da, seed, 0.2, 3), randn(db, seed + 1, -2.5, 2.5)];
  if (op === 'div') return [randn(da, seed, -2, 2), awayFromZero(db, seed + 1)];
  if (op === 'max' || op === 'min') {
    const grid = (d: number[], s: number, off: number) =>
      new Tensor('float32', Float32Array.from(randInt(d, s, -20, 20).hostData<Int32Array>(), (k) => k * 0.1 + off), d);
    return [grid(da, seed, 0.03), grid(db, seed + 1, 0.08)];
  }
  return [randn(da, seed, -2, 2), randn(db, seed + 1, -2, 2)];
}

describe('cpu binary reference', () => {
  it('broadcasts (3,1) with (1,4) — hand-computed', async () => {
    const a = new Tensor('float32', [1, 2, 3], [3, 1]);
    const b = new Tensor('float32', [10, 20, 30, 40], [1, 4]);
    const y = cpu.binary('add', a, b);
    expect(y.dims).toEqual([3, 4]);
    expect(await y.toArray()).toEqual([11, 21, 31, 41, 12, 22, 32, 42, 13, 23, 33, 43]);
  });
  it('pow follows numpy for negative bases and zero', async () => {
    const a = new Tensor('float32', [-2, -2, -2, 0, 0, 0, 4], [7]);
    const b = new Tensor('float32', [2, 3, 0.5, 0, 2, -1, 0.5], [7]);
    expect(await cpu.binary('pow', a, b).toArray()).toEqual([4, -8, NaN, 1, 0, Infinity, 2]);
  });
  it('int32: wrapping arithmetic, truncating division, x / 0 = x', async () => {
    const a = new Tensor('int32', [7, -7, 7, 2147483647, 5, -2147483648], [6]);
    const b = new Tensor('int32', [2, 2, 0, 1, -3, -1], [6]);
    expect(await cpu.binary('div', a, b).toArray()).toEqual([3, -3, 7, 2147483647, -1, -2147483648]);
    expect(await cpu.binary('add', a, b).toArray()).toEqual([9, -5, 7, -2147483648, 2, 2147483647]);
    expect(cpu.binary('mul', a, b).dtype).toBe('int32');
  });
  it('comparisons and logic return bool', async () => {
    const a = new Tensor('int32', [1, 2, 3], [3]);
    const b = new Tensor('int32', [2], [1]);
    const y = cpu.binary('less_equal', a, b);
    expect(y.dtype).toBe('bool');
    expect(await y.toArray()).toEqual([1, 1, 0]);
    const p = new Tensor('bool', [1, 1, 0, 0], [4]);
    const q = new Tensor('bool', [1, 0, 1, 0], [4]);
    expect(await cpu.binary('and', p, q).toArray()).toEqual([1, 0, 0, 0]);
    expect(await cpu.binary('or', p, q).toArray()).toEqual([1, 1, 1, 0]);
    expect(await cpu.binary('equal', p, q).toArray()).toEqual([1, 0, 0, 1]);
  });
  it('clear errors: shapes, dtypes', () => {
    expect(() => cpu.binary('add', randn([3, 4], 1), randn([5], 2))).toThrow(/binary add: shapes \[3, 4\] and \[5\] do not broadcast/);
    expect(() => cpu.binary('add', randn([3], 1), randInt([3], 2, 0, 5))).toThrow(/a is float32 \[3\] but b is int32 \[3\]/);
    expect(() => cpu.binary('pow', randInt([3], 1, 0, 5), randInt([3], 2, 0, 5))).toThrow(/binary pow: expected float32/);
    expect(() => cpu.binary('and', randn([3], 1), randn([3], 2))).toThrow(/binary and: expected bool/);
  });
});

describe('cpu binaryBackward', () => {
  it('max/min split dy evenly on ties; pow conventions at a = 0 and b = 0', async () => {
    const t = (v: number[]) => new Tensor('float32', v, [v.length]);
    const mx = cpu.binaryBackward('max', t([1, 2, 3]), t([1, 1, 4]), t([2, 2, 2]));
    expect(await mx.da.toArray()).toEqual([1, 2, 0]);
    expect(await mx.db.toArray()).toEqual([1, 0, 2]);
    const mn = cpu.binaryBackward('min', t([1, 2, 3]), t([1, 1, 4]), t([2, 2, 2]));
    expect(await mn.da.toArray()).toEqual([1, 0, 2]);
    // pow: ∂/∂a = 0 where b = 0; ∂/∂b = 0 where a = 0, b ≥ 0; NaN for a < 0 (ln a).
    const pw = cpu.binaryBackward('pow', t([0, 0, 2, -2]), t([0, 2, 0, 2]), t([1, 1, 1, 1]));
    expect(await pw.da.toArray()).toEqual([0, 0, 0, -4]);
    const db = await pw.db.toArray();
    expect(db.slice(0, 3)).toEqual([0, 0, Math.log(2)].map((v) => Math.fround(v)));
    expect(db[3]).toBeNaN();
  });
  it('rejects ops without gradient and a wrongly shaped dy', () => {
    expect(() => cpu.binaryBackward('less', randn([3], 1), randn([3], 2), randn([3], 3))).toThrow(/'less' has no gradient/);
    expect(() => cpu.binaryBackward('add', randn([3, 1], 1), randn([4], 2), randn([3], 3))).toThrow(/dy is \[3\], expected \[3, 4\]/);
  });
  for (const op of ARITH) {
    for (const [da, db] of [[[2, 3], [2, 3]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [1]], [[1, 3, 1], [2, 1, 2]]] as [number[], number[]][]) {
      it(`${op} ${name(da, db)} vs central differences`, () => {
        const [a, b] = operands(op, da, db, 7);
        const y = cpu.binary(op, a, b);
        const w = randn(y.dims as number[], 9).hostData<Float32Array>();
        const { da: ga, db: gb } = cpu.binaryBackward(op, a, b, new Tensor('float32', w, y.dims));
        const f = ([p, q]: Tensor[]) => cpu.binary(op, p, q);
        // float32 forward differenced over 2·eps: rounding noise on sums of up to 24
        // terms, measured ≤ 1.1e-4.
        expect(gradError(ga.hostData<Float32Array>(), numericGrad(f, [a, b], 0, w, 1e-3))).toBeLessThan(5e-4);
        expect(gradError(gb.hostData<Float32Array>(), numericGrad(f, [a, b], 1, w, 1e-3))).toBeLessThan(5e-4);
      });
    }
  }
});

describe('cpu where and sumToShape', () => {
  it('where broadcasts cond, a and b — hand-computed', async () => {
    const c = new Tensor('bool', [1, 0], [2, 1]);
    const a = new Tensor('float32', [1, 2, 3], [3]);
    const b = new Tensor('float32', [-1], [1]);
    const y = cpu.where(c, a, b);
    expect(y.dims).toEqual([2, 3]);
    expect(await y.toArray()).toEqual([1, 2, 3, -1, -1, -1]);
    expect(() => cpu.where(randn([2], 1), a, b)).toThrow(/where: cond must be bool, got float32/);
  });
  it('sumToShape sums broadcast axes — hand-computed', async () => {
    const x = new Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]);
    expect(await cpu.sumToShape(x, [3]).toArray()).toEqual([5, 7, 9]);
    expect(await cpu.sumToShape(x, [2, 1]).toArray()).toEqual([6, 15]);
    expect(await cpu.sumToShape(x, []).toArray()).toEqual([21]);
    expect(await cpu.sumToShape(x, [1, 2, 3]).toArray()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => cpu.sumToShape(x, [2])).toThrow(/cannot sum \[2, 3\] to \[2\]/);
  });
});

// ── webgpu vs cpu ──────────────────────────────────────────────────────────────

/**
 * add/sub/mul/max/min are correctly rounded in WGSL and in the float64-then-float32
 * reference: bit-equal, up to one ulp for implementations that do otherwise. div is
 * 2.5 ulp in WGSL; pow is exp2(b·log2 a), whose error grows with |b·log2 a| (≤ ~6 here).
 */
const FWD_TOL: Record<Arith, Tolerance> = {
  add: { atol: 0, rtol: 1.2e-7 },
  sub: { atol: 0, rtol: 1.2e-7 },
  mul: { atol: 0, rtol: 1.2e-7 },
  max: { atol: 0, rtol: 0 },
  min: { atol: 0, rtol: 0 },
  div: { atol: 0, rtol: 4e-7 },
  pow: { atol: 1e-6, rtol: 4e-6 },
};

describe.skipIf(!hasWebGpu)('webgpu binary vs cpu', () => {
  for (const [da, db] of PATTERNS) {
    for (const op of ARITH) {
      it(`${op} ${name(da, db)}`, async () => {
        const g = await gpu();
        const [a, b] = operands(op, da, db, da.length * 10 + db.length);
        await expectClose(g.binary(op, g.upload(a), g.upload(b)), cpu.binary(op, a, b), FWD_TOL[op], op);
      });
    }
    it(`comparisons, int32 arithmetic, logic ${name(da, db)}`, async () => {
      const g = await gpu();
      const check = async (op: BinaryOp, a: Tensor, b: Tensor) => {
        const y = g.binary(op, g.upload(a), g.upload(b));
        const r = cpu.binary(op, a, b);
        expect(y.dtype, op).toBe(r.dtype);
        expect(y.dims, op).toEqual(r.dims);
        expect(await y.toArray(), `${op} ${a.dtype}`).toEqual(await r.toArray());
      };
      const [fa, fb] = [randIntF(da, 1, -3, 3), randIntF(db, 2, -3, 3)];
      const [ia, ib] = [randInt(da, 3, -3, 3), randInt(db, 4, -3, 3)];
      for (const op of COMPARE) {
        await check(op, fa, fb);
        await check(op, ia, ib);
      }
      // Large operands so int32 mul/add wrap; b includes 0 for x / 0 = x.
      const [wa, wb] = [randInt(da, 5, -2e9, 2e9), randInt(db, 6, -70000, 70000)];
      for (const op of ['add', 'sub', 'mul', 'div', 'max', 'min'] as BinaryOp[]) await check(op, wa, wb);
      await check('div', ia, ib);
      const [pa, pb] = [randBool(da, 7), randBool(db, 8)];
      for (const op of ['and', 'or', 'equal'] as BinaryOp[]) await check(op, pa, pb);
    });
  }
  it('pow with negative bases and zero, as numpy', async () => {
    const g = await gpu();
    const a = new Tensor('float32', [-2, -2, -2, 0, 0, 0, 4, -1.5], [8]);
    const b = new Tensor('float32', [2, 3, 0.5, 0, 2, -1, 0.5, -3], [8]);
    await expectClose(g.binary('pow', a, b), cpu.binary('pow', a, b), FWD_TOL.pow, 'pow');
  });
  it('op table matches BinaryOp and errors are clear', async () => {
    const g = await gpu();
    expect(BINARY_OPS).toEqual([...ARITH, ...COMPARE, 'and', 'or']);
    expect(() => g.binary('add', randn([3, 4], 1), randn([5], 2))).toThrow(/binary add: shapes \[3, 4\] and \[5\] do not broadcast/);
    expect(() => g.binary('mul', randn([3], 1), randInt([3], 2, 0, 5))).toThrow(/a is float32 \[3\] but b is int32 \[3\]/);
    expect(() => g.binary('or', randn([3], 1), randn([3], 2))).toThrow(/binary or: expected bool/);
    // Nine axes that cannot merge (each input alternates broadcast / not): over the kernels' 8.
    const alt = (first: number) => Array.from({ length: 9 }, (_, i) => ((i + first) % 2 ? 2 : 1));
    expect(() => g.binary('add', randn(alt(0), 1), randn(alt(1), 2))).toThrow(/needs 9 axes after merging; the kernels handle 8/);
  });
  it('empty output', async () => {
    const g = await gpu();
    const y = g.binary('add', randn([0, 3], 1), randn([3], 2));
    expect(y.dims).toEqual([0, 3]);
    expect(await y.toArray()).toEqual([]);
  });
});

describe.skipIf(!hasWebGpu)('webgpu binaryBackward vs cpu', () => {
  for (const [da, db] of PATTERNS) {
    for (const op of ARITH) {
      it(`${op} ${name(da, db)}`, async () => {
        const g = await gpu();
        const [a, b] = operands(op, da, db, 3 * da.length + db.length);
        const dy = randn(cpu.binary(op, a, b).dims as number[], 77);
        const got = g.binaryBackward(op, g.upload(a), g.upload(b), g.upload(dy));
        const ref = cpu.binaryBackward(op, a, b, dy);
        // Broadcast inputs sum up to 131 products in float32 (reference: float64); pow
        // adds its exp2/log2 error, and ln(a)·a^b reaches ~30 here.
        const tol = op === 'pow' ? { atol: 2e-5, rtol: 2e-5 } : { atol: 1e-5, rtol: 2e-6 };
        await expectClose(got.da, ref.da, tol, `${op} da`);
        await expectClose(got.db, ref.db, tol, `${op} db`);
      });
    }
  }
  it('ties and pow conventions match the cpu', async () => {
    const g = await gpu();
    const t = (v: number[]) => new Tensor('float32', v, [v.length]);
    for (const [op, a, b] of [['max', [1, 2, 3], [1, 1, 4]], ['min', [1, 2, 3], [1, 1, 4]], ['pow', [0, 0, 2, -2], [0, 2, 0, 2]]] as [Arith, number[], number[]][]) {
      const dy = t(a.map(() => 1.5));
      const got = g.binaryBackward(op, t(a), t(b), dy);
      const ref = cpu.binaryBackward(op, t(a), t(b), dy);
      await expectClose(got.da, ref.da, { atol: 1e-6, rtol: 1e-6 }, `${op} da`);
      await expectClose(got.db, ref.db, { atol: 1e-6, rtol: 1e-6 }, `${op} db`);
    }
  });
  it('rejects ops without gradient and a wrongly shaped dy', async () => {
    const g = await gpu();
    expect(() => g.binaryBackward('and', randn([3], 1), randn([3], 2), randn([3], 3))).toThrow(/'and' has no gradient/);
    expect(() => g.binaryBackward('add', randn([3, 1], 1), randn([4], 2), randn([3], 3))).toThrow(/dy is \[3\], expected \[3, 4\]/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu where vs cpu', () => {
  const cases: [number[], number[], number[]][] = [
    [[131], [131], [131]],
    [[3, 1], [1, 97], [1]],
    [[2, 1, 5], [3, 1], [4, 1, 1, 5]],
    [[4, 1], [1, 12], [4, 12]],
  ];
  for (const [dc, da, db] of cases) {
    it(`${JSON.stringify([dc, da, db])} float32, int32, bool`, async () => {
      const g = await gpu();
      const c = randBool(dc, 11);
      const pairs: [Tensor, Tensor][] = [
        [randn(da, 12), randn(db, 13)],
        [randInt(da, 14, -100, 100), randInt(db, 15, -100, 100)],
        [randBool(da, 16), randBool(db, 17)],
      ];
      for (const [a, b] of pairs) {
        const y = g.where(g.upload(c), g.upload(a), g.upload(b));
        const r = cpu.where(c, a, b);
        expect(y.dtype).toBe(a.dtype);
        expect(y.dims).toEqual(r.dims);
        expect(await y.toArray(), a.dtype).toEqual(await r.toArray());
      }
    });
  }
  it('clear errors', async () => {
    const g = await gpu();
    const c = randBool([3], 1);
    expect(() => g.where(randn([3], 1), randn([3], 2), randn([3], 3))).toThrow(/where cond: expected bool, got float32/);
    expect(() => g.where(c, randn([3], 2), randInt([3], 3, 0, 2))).toThrow(/where: a is float32 \[3\] but b is int32 \[3\]/);
    expect(() => g.where(c, randn([4], 2), randn([3], 3))).toThrow(/do not broadcast/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu sumToShape vs cpu', () => {
  const cases: [number[], number[]][] = [
    [[97], [97]], // no reduction: a copy
    [[3, 131], [131]], // a few rows: one chunk per output
    [[2048, 768], [768]], // the bias grad: chunked columns, then a second pass
    [[5000, 3], [1, 3]], // few outputs, many rows: S capped by R/32
    [[131, 300], [131, 1]], // innermost summed: a workgroup per row
    [[3, 20000], [3, 1]], // long rows: chunked rows + a second pass
    [[70001], []], // everything to a scalar: three levels
    [[3, 4, 5], [1, 4, 1]],
    [[2, 3, 4, 5], [3, 1, 5]],
    [[2, 5, 3, 7], [2, 1, 3, 1]],
    [[7, 3], [1, 1, 7, 3]], // extra leading 1s in the target
    [[0, 5], [1, 5]], // summing nothing gives zeros
  ];
  for (const [xd, d] of cases) {
    it(`${JSON.stringify(xd)} → ${JSON.stringify(d)}`, async () => {
      const g = await gpu();
      const x = randn(xd, xd.length + d.length);
      // float32 partial sums of up to 70k values in [−1, 1) vs a float64 reference:
      // measured ≤ 1.5e-5 absolute on sums of magnitude ~30.
      await expectClose(g.sumToShape(g.upload(x), d), cpu.sumToShape(x, d), { atol: 1e-4, rtol: 1e-5 }, 'sum');
    });
  }
  it('is deterministic and rejects shapes that do not sum', async () => {
    const g = await gpu();
    const x = g.upload(randn([2048, 77], 5));
    const [p, q] = [await g.sumToShape(x, [77]).data(), await g.sumToShape(x, [77]).data()];
    expect(p).toEqual(q);
    expect(() => g.sumToShape(x, [2048])).toThrow(/cannot sum \[2048, 77\] to \[2048\]/);
    expect(() => g.sumToShape(randInt([3], 1, 0, 3), [1])).toThrow(/sumToShape: expected float32, got int32/);
    expect(() => g.sumToShape(randn([2, 3, 2, 3, 2, 3, 2, 3, 2], 1), [2, 1, 2, 1, 2, 1, 2, 1, 2])).toThrow(/more than 4 alternating/);
  });
});
