import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend, LoraOptions } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { dropoutMask, dropoutParams, keeps, lowbias32 } from '../../src/tensor/dropout.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randn, type Tolerance } from '../helpers/numeric.js';

const cpu = new CpuBackend();

// ── PyTorch fixture (scripts/lora_reference.py, torch 1.13): PEFT's LoRA Linear ──────
interface TorchCase {
  M: number; K: number; N: number; r: number; scaling: number;
  x: number[]; W_NK: number[]; bias: number[]; A: number[]; B: number[]; dy: number[];
  y: number[]; dx: number[]; dA: number[]; dB: number[];
}
const fixture = (JSON.parse(readFileSync(new URL('../fixtures/lora_reference.json', import.meta.url), 'utf8')) as { case: TorchCase }).case;

const t32 = (v: ArrayLike<number>, dims: number[]) => new Tensor('float32', Float32Array.from(v as number[]), dims);

function transposed(v: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = v[i * cols + j];
  return out;
}

/** The torch case through `be`, W given in torch's (N, K) layout (transW) or as (K, N). */
async function checkAgainstTorch(be: Backend, transW: boolean, tol: Tolerance): Promise<void> {
  const c = fixture;
  const up = (t: Tensor) => be.upload(t);
  const x = up(t32(c.x, [c.M, c.K]));
  const w = up(transW ? t32(c.W_NK, [c.N, c.K]) : t32(transposed(c.W_NK, c.N, c.K), [c.K, c.N]));
  const a = up(t32(c.A, [c.r, c.K]));
  const b = up(t32(c.B, [c.N, c.r]));
  const opts: LoraOptions = { scaling: c.scaling, bias: up(t32(c.bias, [c.N])), transW };
  await expectClose(be.loraMatmul(x, w, a, b, opts), t32(c.y, [c.M, c.N]), tol, 'y');
  const g = be.loraMatmulBackward(x, w, a, b, up(t32(c.dy, [c.M, c.N])), opts);
  await expectClose(g.dx, t32(c.dx, [c.M, c.K]), tol, 'dx');
  await expectClose(g.dA, t32(c.dA, [c.r, c.K]), tol, 'dA');
  await expectClose(g.dB, t32(c.dB, [c.N, c.r]), tol, 'dB');
}

// Sums of ≤ 7 float32 products of values ≤ 2 (torch accumulates in float32 too);
// measured ≤ 2e-6 (dA) on cpu and webgpu alike.
const TORCH_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };

// ── random problems ─────────────────────────────────────────────────────────────
interface Case {
  M: number; K: number; N: number; r: number;
  transW: boolean;
  /** Dropout probability; 0 = no dropout spec at all. */
  p: number;
  /** x's leading dims when not just (M). */
  lead?: number[];
}

function problem(c: Case, seed: number) {
  const lead = c.lead ?? [c.M];
  return {
    x: randn([...lead, c.K], seed),
    w: randn(c.transW ? [c.N, c.K] : [c.K, c.N], seed + 1),
    a: randn([c.r, c.K], seed + 2),
    b: randn([c.N, c.r], seed + 3), // B ≠ 0: a zero B would hide the LoRA branch
    dy: randn([...lead, c.N], seed + 4),
    opts: {
      scaling: 2 / c.r + 0.5,
      bias: randn([c.N], seed + 5),
      transW: c.transW,
      dropout: c.p > 0 ? { p: c.p, seed: seed * 7919 } : undefined,
    } as LoraOptions,
  };
}

describe('dropout mask (src/tensor/dropout.ts)', () => {
  it('lowbias32 matches the published hash (Python integer arithmetic)', () => {
    // x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16, computed with Python ints mod 2^32.
    expect(lowbias32(0)).toBe(0);
    expect(lowbias32(1)).toBe(0x688990c0);
    expect(lowbias32(2)).toBe(0xd1132181);
    expect(lowbias32(0x12345678)).toBe(0xf5e71c96);
    expect(lowbias32(0xffffffff)).toBe(0x6768824a);
  });
  it('keeps about 1 − p of the elements, and depends on the seed', () => {
    const n = 200_000;
    for (const p of [0.1, 0.5, 0.9]) {
      const kept = dropoutMask({ p, seed: 3 }, n).reduce((s, v) => s + v, 0);
      const sigma = Math.sqrt(n * p * (1 - p));
      expect(Math.abs(kept - n * (1 - p)), `p = ${p}`).toBeLessThan(5 * sigma);
    }
    const m1 = dropoutMask({ p: 0.5, seed: 1 }, 1000);
    const m2 = dropoutMask({ p: 0.5, seed: 2 }, 1000);
    expect(m1).toEqual(dropoutMask({ p: 0.5, seed: 1 }, 1000));
    const same = m1.reduce((s, v, i) => s + (v === m2[i] ? 1 : 0), 0);
    expect(same).toBeGreaterThan(400); // independent masks agree on about half
    expect(same).toBeLessThan(600);
  });
  it('p = 0 keeps everything; seeds wrap mod 2^32; bad p and seeds are rejected', () => {
    expect(dropoutParams({ p: 0, seed: 5 }, 'op')).toBeNull();
    expect(dropoutMask({ p: 0, seed: 5 }, 10).every((v) => v === 1)).toBe(true);
    const d = dropoutParams({ p: 0.3, seed: -1 }, 'op')!;
    expect(d.key).toBe(dropoutParams({ p: 0.3, seed: 2 ** 32 - 1 }, 'op')!.key);
    expect(d.threshold).toBe(Math.floor(0.3 * 2 ** 32));
    expect(keeps(d, 0)).toBe(lowbias32(d.key) >= d.threshold);
    expect(() => dropoutParams({ p: 1, seed: 0 }, 'op')).toThrow(/op: dropout p = 1 must be in \[0, 1\)/);
    expect(() => dropoutParams({ p: 0.1, seed: 0.5 }, 'op')).toThrow(/seed 0.5 must be an integer/);
  });
});

describe('cpu loraMatmul reference', () => {
  it('matches torch (PEFT LoRA Linear, W in torch layout: transW)', () => checkAgainstTorch(cpu, true, TORCH_TOL));
  it('matches torch (W as (K, N))', () => checkAgainstTorch(cpu, false, TORCH_TOL));

  it('with dropout equals the base matmul plus the LoRA branch on the masked input', async () => {
    const c: Case = { M: 6, K: 9, N: 5, r: 3, transW: false, p: 0.4 };
    const { x, w, a, b, opts } = problem(c, 11);
    const mask = dropoutMask(opts.dropout, c.M * c.K);
    const xv = x.hostData<Float32Array>();
    const xd = t32(xv.map((v, i) => (mask[i] ? v / (1 - c.p) : 0)), [c.M, c.K]);
    const low = cpu.matmul(cpu.matmul(xd, a, { transB: true }), b, { transB: true, alpha: opts.scaling });
    const expected = cpu.binary('add', cpu.matmul(x, w, { bias: opts.bias }), low);
    await expectClose(cpu.loraMatmul(x, w, a, b, opts), expected, { atol: 1e-5, rtol: 1e-5 }, 'y');
    expect(mask.includes(0) && mask.includes(1)).toBe(true);
  });

  it('flattens leading dims of x and dy', async () => {
    const c: Case = { M: 6, K: 5, N: 4, r: 2, transW: true, p: 0.2, lead: [2, 3] };
    const p3 = problem(c, 21);
    const flat = (t: Tensor, n: number) => t32(t.hostData<Float32Array>(), [c.M, n]);
    const y3 = cpu.loraMatmul(p3.x, p3.w, p3.a, p3.b, p3.opts);
    expect(y3.dims).toEqual([2, 3, 4]);
    expect(await y3.toArray()).toEqual(await cpu.loraMatmul(flat(p3.x, c.K), p3.w, p3.a, p3.b, p3.opts).toArray());
    const g3 = cpu.loraMatmulBackward(p3.x, p3.w, p3.a, p3.b, p3.dy, p3.opts);
    const g2 = cpu.loraMatmulBackward(flat(p3.x, c.K), p3.w, p3.a, p3.b, flat(p3.dy, c.N), p3.opts);
    expect(g3.dx.dims).toEqual([2, 3, 5]);
    expect(await g3.dx.toArray()).toEqual(await g2.dx.toArray());
    expect(await g3.dA.toArray()).toEqual(await g2.dA.toArray());
  });

  it('B = 0 (PEFT init) gives the base layer x·W + bias', async () => {
    const { x, w, a, opts } = problem({ M: 4, K: 6, N: 5, r: 2, transW: false, p: 0 }, 31);
    const y = cpu.loraMatmul(x, w, a, Tensor.zeros('float32', [5, 2]), opts);
    await expectClose(y, cpu.matmul(x, w, { bias: opts.bias }), { atol: 1e-6, rtol: 1e-6 }, 'y');
  });

  it('rejects bad shapes with the expected shape in the message', () => {
    const { x, w, a, b, dy, opts } = problem({ M: 3, K: 4, N: 5, r: 2, transW: false, p: 0 }, 41);
    expect(() => cpu.loraMatmul(x, w, randn([65, 4], 1), randn([5, 65], 2), opts)).toThrow(/rank r = 65 .* must be in 1\.\.64/);
    expect(() => cpu.loraMatmul(x, w, randn([2, 3], 1), b, opts)).toThrow(/A is \[2, 3\], expected \(r, 4\)/);
    expect(() => cpu.loraMatmul(x, w, a, randn([5, 3], 1), opts)).toThrow(/B is \[5, 3\], expected \[5, 2\]/);
    expect(() => cpu.loraMatmul(x, randn([3, 5], 1), a, b, opts)).toThrow(/W is \[3, 5\], expected \(4, N\)/);
    expect(() => cpu.loraMatmul(x, w, a, b, { ...opts, transW: true })).toThrow(/expected \(N, 4\) with transW/);
    expect(() => cpu.loraMatmul(x, w, a, b, { ...opts, bias: randn([4], 1) })).toThrow(/bias is \[4\], expected \[5\]/);
    expect(() => cpu.loraMatmul(x, w, a, b, { ...opts, dropout: { p: -0.1, seed: 1 } })).toThrow(/dropout p = -0.1/);
    expect(() => cpu.loraMatmulBackward(x, w, a, b, randn([3, 4], 1), opts)).toThrow(/dy is \[3, 4\], expected \(…, 5\) with 3 rows/);
    expect(() => cpu.loraMatmulBackward(x, w, a, b, dy, opts)).not.toThrow();
  });
});

describe('cpu loraMatmulBackward vs central differences', () => {
  const cases: Case[] = [
    { M: 3, K: 5, N: 4, r: 2, transW: false, p: 0 },
    { M: 4, K: 6, N: 3, r: 3, transW: true, p: 0.3 },
  ];
  for (const c of cases) {
    it(`M=${c.M} K=${c.K} N=${c.N} r=${c.r} transW=${c.transW} p=${c.p}`, () => {
      const { x, w, a, b, opts } = problem(c, 51);
      const wts = randn([c.M, c.N], 52).hostData<Float32Array>();
      const g = cpu.loraMatmulBackward(x, w, a, b, t32(wts, [c.M, c.N]), opts);
      const f = ([x_, w_, a_, b_]: Tensor[]) => cpu.loraMatmul(x_, w_, a_, b_, opts);
      const inputs = [x, w, a, b];
      // y is linear in each input, so central differences only carry float32 rounding
      // of y (~1e-7·|y| / 2·eps summed over M·N terms); measured ≤ 1e-5.
      for (const [i, name, grad] of [[0, 'dx', g.dx], [2, 'dA', g.dA], [3, 'dB', g.dB]] as const) {
        const numeric = numericGrad(f, inputs, i, wts, 1e-2);
        expect(gradError(grad.hostData<Float32Array>(), numeric), name).toBeLessThan(2e-4);
      }
    });
  }
});

// Shapes not multiple of any tile: M spans 1 and 3 (the short tile), 37, 130 (two row
// tiles, and for dA/dB a depth split over 2 workgroups with the split-sum pass); K = 257
// at M = 1 splits the forward's depth too; K = N = 64 takes every vec4 path. r covers
// every rank bucket (4, 8, 16, 32, 64) and ranks that are not multiples of 4. SwiftShader
// compiles a pipeline in ~1-2 s, so cases share layouts where the coverage allows.
const GRID: Case[] = [
  { M: 1, K: 5, N: 7, r: 1, transW: false, p: 0 },
  { M: 3, K: 33, N: 65, r: 4, transW: true, p: 0.3 },
  { M: 37, K: 97, N: 7, r: 16, transW: false, p: 0.1 },
  { M: 130, K: 33, N: 65, r: 64, transW: true, p: 0, lead: [5, 26] },
  { M: 130, K: 5, N: 7, r: 4, transW: true, p: 0.5 },
  { M: 3, K: 97, N: 65, r: 64, transW: false, p: 0.2 },
  { M: 37, K: 5, N: 65, r: 1, transW: true, p: 0.9 },
  { M: 130, K: 97, N: 7, r: 13, transW: false, p: 0 },
  { M: 1, K: 257, N: 65, r: 16, transW: true, p: 0.1 },
  { M: 130, K: 64, N: 64, r: 8, transW: true, p: 0.25 },
  { M: 37, K: 33, N: 7, r: 32, transW: false, p: 0 },
];

// float32 sums over depths ≤ 257 of products of values ≤ 1 (times s ≤ 2.5, 1/(1−p) ≤ 10):
// |y| reaches ~40; the kernels sum in a different order than the float64 reference.
// Measured worst |diff| 1.1e-5 (dx at p = 0.9, |ref| ≈ 107) on SwiftShader.
const GPU_TOL: Tolerance = { atol: 5e-5, rtol: 5e-5 };

describe.skipIf(!hasWebGpu)('webgpu loraMatmul vs cpu', () => {
  it('matches torch (transW)', async () => checkAgainstTorch(await gpu(), true, TORCH_TOL));
  it('matches torch (W as (K, N))', async () => checkAgainstTorch(await gpu(), false, TORCH_TOL));

  GRID.forEach((c, i) => {
    it(`M=${c.M} K=${c.K} N=${c.N} r=${c.r} transW=${c.transW} p=${c.p}`, async () => {
      const g = await gpu();
      const { x, w, a, b, dy, opts } = problem(c, 100 + 10 * i);
      const gOpts = { ...opts, bias: g.upload(opts.bias!) };
      const [gx, gw, ga, gb] = [x, w, a, b].map((t) => g.upload(t));
      await expectClose(g.loraMatmul(gx, gw, ga, gb, gOpts), cpu.loraMatmul(x, w, a, b, opts), GPU_TOL, 'y');
      const got = g.loraMatmulBackward(gx, gw, ga, gb, g.upload(dy), gOpts);
      const want = cpu.loraMatmulBackward(x, w, a, b, dy, opts);
      await expectClose(got.dx, want.dx, GPU_TOL, 'dx');
      await expectClose(got.dA, want.dA, GPU_TOL, 'dA');
      await expectClose(got.dB, want.dB, GPU_TOL, 'dB');
    });
  });

  it('uses the cpu mask bit for bit (forward and dx)', async () => {
    // W = 0, A = B = I (r = K = N = 8), s = 1: y = dropout(x) and dx = dy ⊙ mask/(1−p)
    // exactly (every other product is an exact 0), so the zero pattern is the mask.
    const g = await gpu();
    const [M, K] = [130, 8];
    const eye = t32(Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)), [K, K]);
    const x = randn([M, K], 61, 0.5, 1.5);
    const dy = randn([M, K], 62, 0.5, 1.5);
    const spec = { p: 0.3, seed: 987654321 };
    const opts: LoraOptions = { scaling: 1, dropout: spec, transW: true }; // the layouts of a GRID case
    const zeros = Tensor.zeros('float32', [K, K]);
    const y = await g.loraMatmul(g.upload(x), g.upload(zeros), g.upload(eye), g.upload(eye), opts).toArray();
    const dx = await g.loraMatmulBackward(g.upload(x), g.upload(zeros), g.upload(eye), g.upload(eye), g.upload(dy), opts).dx.toArray();
    const mask = Array.from(dropoutMask(spec, M * K));
    expect(y.map((v) => (v === 0 ? 0 : 1))).toEqual(mask);
    expect(dx.map((v) => (v === 0 ? 0 : 1))).toEqual(mask);
    // Kept values: x·f32(1/(1−p)) on the GPU vs x/(1−p) rounded once on the cpu.
    await expectClose(t32(y, [M, K]), cpu.loraMatmul(x, zeros, eye, eye, opts), { atol: 0, rtol: 3e-7 }, 'y');
  });

  it('changing scaling, dropout, or the adapter (same rank bucket) compiles no pipeline', async () => {
    const g = await gpu();
    const c: Case = { M: 20, K: 20, N: 12, r: 8, transW: true, p: 0.1 };
    const p1 = problem(c, 71);
    const p2 = problem({ ...c, r: 7 }, 72); // r = 7 shares the r = 8 tiles
    const [x, w] = [g.upload(p1.x), g.upload(p1.w)];
    await g.loraMatmul(x, w, g.upload(p1.a), g.upload(p1.b), p1.opts).data();
    g.loraMatmulBackward(x, w, g.upload(p1.a), g.upload(p1.b), g.upload(p1.dy), p1.opts);
    await g.sync();
    const compiled = g.ctx.pipelines.compiled;
    for (const dropout of [{ p: 0.6, seed: 5 }, undefined]) {
      const opts2 = { ...p2.opts, scaling: 0.37, bias: p1.opts.bias, dropout };
      const y2 = g.loraMatmul(x, w, g.upload(p2.a), g.upload(p2.b), opts2);
      const d2 = g.loraMatmulBackward(x, w, g.upload(p2.a), g.upload(p2.b), g.upload(p1.dy), opts2);
      const want = cpu.loraMatmulBackward(p1.x, p1.w, p2.a, p2.b, p1.dy, opts2);
      await expectClose(y2, cpu.loraMatmul(p1.x, p1.w, p2.a, p2.b, opts2), GPU_TOL, 'y after swap');
      await expectClose(d2.dx, want.dx, GPU_TOL, 'dx after swap');
      await expectClose(d2.dA, want.dA, GPU_TOL, 'dA after swap');
    }
    expect(g.ctx.pipelines.compiled).toBe(compiled);
  });

  it('rejects r > 64 and bad dy with clear errors', async () => {
    const g = await gpu();
    const { x, w, b, opts } = problem({ M: 2, K: 3, N: 4, r: 2, transW: false, p: 0 }, 81);
    expect(() => g.loraMatmul(x, w, randn([65, 3], 1), randn([4, 65], 2), opts)).toThrow(/loraMatmul: LoRA rank r = 65/);
    expect(() => g.loraMatmulBackward(x, w, randn([2, 3], 1), b, randn([2, 3], 3), opts)).toThrow(/dy is \[2, 3\], expected \(…, 4\)/);
  });
});
