/**
 * The gpujs backend (gpu.js kernels; 'webasm' mode in Node) against the cpu reference
 * and, for matmul and LoRA, against float64 loops written here. Shapes are odd on
 * purpose: M not a multiple of the 4 rows a gemm cell computes, N not a multiple of the
 * 4 SIMD lanes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuJsBackend } from '../../src/tensor/gpujs/index.js';
import { UNARY_OPS } from '../../src/tensor/gpujs/unary.js';
import { collapse3 } from '../../src/tensor/gpujs/binary.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { matmulShape } from '../../src/tensor/cpu/matmul.js';
import { selectBackend } from '../../src/tensor/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { BinaryOp, UnaryOp } from '../../src/tensor/backend.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randn } from '../helpers/numeric.js';

const g = new GpuJsBackend();
const cpu = new CpuBackend();
afterAll(() => g.destroy());

// ── float64 references written here ──────────────────────────────

/** (M, K)·(K, N) in float64; `ta`/`tb`: the operand is stored transposed. */
function refMatmul(a: ArrayLike<number>, b: ArrayLike<number>, M: number, K: number, N: number, ta = false, tb = false): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ta ? k * M + m : m * K + k] * b[tb ? n * K + k : k * N + n];
      c[m * N + n] = s;
    }
  }
  return c;
}
const host = (t: Tensor) => t.hostData<Float32Array>();
const f64 = (v: Float64Array, dims: number[]) => new Tensor('float32', Float32Array.from(v), dims);

/** K-sum tolerance: float32 accumulation drifts ~√K·ε·Σ|a·b|; values here are in [-1, 1]. */
const sumTol = (K: number) => ({ atol: 2e-6 * Math.max(1, K), rtol: 1e-5 });

describe('gpujs backend selection', () => {
  it('runs gpu.js webasm in Node and says so', () => {
    expect(g.name).toBe('gpujs');
    expect(g.mode).toBe('webasm');
    expect(g.notes).toEqual([]);
  });
  it('falls back to gpu.js cpu mode with a visible note when webgl2 is asked for in Node', async () => {
    const b = new GpuJsBackend({ mode: 'webgl2' });
    expect(b.mode).toBe('cpu');
    expect(b.notes.join(' ')).toMatch(/webgl2.*falling back to gpu\.js cpu mode/);
    // The fallback still computes correctly.
    const a = randn([3, 5], 1);
    const w = randn([5, 2], 2);
    await expectClose(b.matmul(a, w), f64(refMatmul(host(a), host(w), 3, 5, 2), [3, 2]), sumTol(5), 'cpu-mode matmul');
    b.destroy();
  });
  it("selectBackend('gpujs') gives this backend", async () => {
    const { backend } = await selectBackend('gpujs');
    expect(backend.name).toBe('gpujs');
    expect((backend as GpuJsBackend).mode).toBe('webasm');
  });
});

describe('gpujs matmul vs float64 loop', () => {
  const cases: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [13, 33, 17], [97, 31, 5], [6, 130, 66]];
  for (const [M, K, N] of cases) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
      it(`(${M}, ${K})·(${K}, ${N}) transA=${ta} transB=${tb}`, async () => {
        const a = randn(ta ? [K, M] : [M, K], M * 7 + K);
        const b = randn(tb ? [N, K] : [K, N], N * 5 + K);
        const y = g.matmul(a, b, { transA: ta, transB: tb });
        await expectClose(y, f64(refMatmul(host(a), host(b), M, K, N, ta, tb), [M, N]), sumTol(K), 'matmul');
      });
    }
  }
  it('bias and alpha (Gemm epilogue)', async () => {
    const [M, K, N] = [9, 21, 11];
    const a = randn([M, K], 1);
    const b = randn([K, N], 2);
    const bias = randn([N], 3);
    const ref = refMatmul(host(a), host(b), M, K, N).map((v, i) => 0.5 * v + host(bias)[i % N]);
    await expectClose(g.matmul(a, b, { bias, alpha: 0.5 }), f64(ref, [M, N]), sumTol(K), 'gemm');
  });
  it('broadcasts batch dims: (2, 1, M, K)·(3, K, N) → (2, 3, M, N)', async () => {
    const [M, K, N] = [5, 6, 7];
    const a = randn([2, 1, M, K], 4);
    const b = randn([3, K, N], 5);
    const y = g.matmul(a, b);
    expect(y.dims).toEqual([2, 3, M, N]);
    const ref = new Float64Array(2 * 3 * M * N);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        const c = refMatmul(host(a).subarray(i * M * K, (i + 1) * M * K), host(b).subarray(j * K * N, (j + 1) * K * N), M, K, N);
        ref.set(c, (i * 3 + j) * M * N);
      }
    }
    await expectClose(y, f64(ref, [2, 3, M, N]), sumTol(K), 'batched matmul');
  });
  it('K = 0 gives the bias; M = 0 gives an empty result', async () => {
    const bias = randn([3], 6);
    const y = g.matmul(new Tensor('float32', new Float32Array(0), [2, 0]), new Tensor('float32', new Float32Array(0), [0, 3]), { bias });
    expect(await y.toArray()).toEqual([...host(bias), ...host(bias)]);
    expect(g.matmul(new Tensor('float32', new Float32Array(0), [0, 4]), randn([4, 3], 7)).dims).toEqual([0, 3]);
  });
  it('rejects bad shapes with a clear error', () => {
    expect(() => g.matmul(randn([2, 3], 1), randn([4, 5], 2))).toThrow(/matmul: inner dims differ: a \[2, 3\] gives K = 3, b \[4, 5\] gives K = 4/);
    expect(() => g.matmul(new Tensor('float32', [1], []), randn([1, 2], 2))).toThrow(/rank ≥ 1/);
    expect(() => g.matmul(randn([3], 1), randn([4, 2], 2))).toThrow(/inner dims differ/);
    expect(() => g.matmul(randn([2, 3], 1), randn([3, 2], 2), { bias: randn([3], 3) })).toThrow(/bias is \[3\], expected \[2\] \(or \[1\]\)/);
    expect(() => g.matmul(randn([2, 3], 1), randn([3, 2], 2), { bias: randn([1, 2], 3) })).toThrow(/bias is \[1, 2\]/);
    expect(() => g.matmul(randn([2, 2, 3], 1), randn([3, 3, 2], 2))).toThrow(/matmul batch dims/);
    expect(() => g.matmul(new Tensor('int32', [1], [1, 1]), randn([1, 1], 2))).toThrow(/matmul a: expected float32, got int32/);
  });
  it('one gpu.js kernel serves every shape', () => {
    expect(g.kernelNames.filter((n) => n.startsWith('gemm'))).toEqual(['gemm']);
  });
});

describe('gpujs matmul vs cpu backend', () => {
  for (const [M, K, N, ta, tb] of [[3, 97, 5, false, false], [33, 17, 70, true, true], [1, 131, 3, false, true]] as const) {
    it(`(${M}, ${K}, ${N}) transA=${ta} transB=${tb} with bias`, async () => {
      const a = randn(ta ? [2, K, M] : [2, M, K], 11);
      const b = randn(tb ? [N, K] : [K, N], 12);
      const bias = randn([N], 13);
      const opts = { transA: ta, transB: tb, bias, alpha: 0.75 };
      await expectClose(g.matmul(a, b, opts), cpu.matmul(a, b, opts), sumTol(K), 'matmul');
    });
  }
  // 1-D operands (ONNX MatMul): a (K) reads as (1, K), b (K) as (K, 1), the added dim is
  // dropped; a transpose flag on a vector is ignored (a vector has no orientation).
  const VEC: [string, number[], number[], { transA?: boolean; transB?: boolean }][] = [
    ['(K)·(K, N)', [37], [37, 5], {}],
    ['(K)·(N, K) transB', [37], [5, 37], { transB: true }],
    ['(M, K)·(K)', [7, 37], [37], {}],
    ['(K, M) transA·(K)', [37, 7], [37], { transA: true }],
    ['(K)·(K) → scalar', [131], [131], {}],
    ['(K) transA·(K) transB → scalar', [13], [13], { transA: true, transB: true }],
    ['(K)·(B, C, K, N): batched b', [9], [2, 3, 9, 6], {}],
    ['(B, M, K)·(K): batched a', [3, 5, 9], [9], {}],
    ['(B, K, M) transA·(K)', [3, 9, 5], [9], { transA: true }],
  ];
  for (const [name, da, db, flags] of VEC) {
    it(`1-D: ${name}`, async () => {
      const a = randn(da, 14);
      const b = randn(db, 15);
      const want = cpu.matmul(a, b, flags);
      const got = g.matmul(a, b, flags);
      expect(got.dims).toEqual(want.dims);
      await expectClose(got, want, sumTol(matmulShape(da, db, flags).K), name);
    });
  }
  it('1-D output (M, K)·(K) is (M)', () => {
    expect(g.matmul(randn([7, 4], 1), randn([4], 2)).dims).toEqual([7]);
    expect(g.matmul(randn([4], 1), randn([4], 2)).dims).toEqual([]);
  });
  for (const [name, da, db, N] of [['(M, K)·(K, N)', [9, 21], [21, 11], 11], ['(B, M, K)·(K, N)', [2, 5, 21], [21, 3], 3], ['(K)·(K, N)', [21], [21, 6], 6], ['(M, K)·(K)', [9, 21], [21], 1]] as const) {
    it(`bias [1] broadcast over N: ${name}`, async () => {
      const a = randn([...da], 16);
      const b = randn([...db], 17);
      const opts = { bias: randn([1], 18), alpha: 1.5 };
      await expectClose(g.matmul(a, b, opts), cpu.matmul(a, b, opts), sumTol(21), `bias [1] N=${N}`);
    });
  }
});

// ── LoRA ─────────────────────────────────────────────────────────

interface LoraCase {
  lead: number[];
  K: number;
  N: number;
  r: number;
  transW: boolean;
}
const LORA_CASES: LoraCase[] = [
  { lead: [7], K: 13, N: 9, r: 3, transW: false },
  { lead: [33], K: 70, N: 17, r: 8, transW: true },
  { lead: [2, 3], K: 5, N: 6, r: 1, transW: false },
];

function loraInputs(c: LoraCase, seed: number) {
  const x = randn([...c.lead, c.K], seed);
  const w = randn(c.transW ? [c.N, c.K] : [c.K, c.N], seed + 1);
  const A = randn([c.r, c.K], seed + 2);
  const B = randn([c.N, c.r], seed + 3); // B ≠ 0, so the LoRA branch is really exercised
  const bias = randn([c.N], seed + 4);
  return { x, w, A, B, bias, M: c.lead.reduce((p, d) => p * d, 1) };
}

describe('gpujs loraMatmul vs float64 loops', () => {
  for (const c of LORA_CASES) {
    const tag = `x ${JSON.stringify([...c.lead, c.K])} N ${c.N} r ${c.r} transW=${c.transW}`;
    it(`forward ${tag}`, async () => {
      const { x, w, A, B, bias, M } = loraInputs(c, 21);
      const s = 2.5;
      const base = refMatmul(host(x), host(w), M, c.K, c.N, false, c.transW);
      const xa = refMatmul(host(x), host(A), M, c.K, c.r, false, true); // x·Aᵀ
      const lo = refMatmul(xa, host(B), M, c.r, c.N, false, true); // ·Bᵀ
      const ref = base.map((v, i) => v + host(bias)[i % c.N] + s * lo[i]);
      const y = g.loraMatmul(x, w, A, B, { scaling: s, bias, transW: c.transW });
      await expectClose(y, f64(ref, [...c.lead, c.N]), sumTol(c.K), 'loraMatmul');
    });
    it(`backward ${tag}`, async () => {
      const { x, w, A, B, M } = loraInputs(c, 31);
      const s = 0.5;
      const dy = randn([...c.lead, c.N], 36);
      const { dx, dA, dB } = g.loraMatmulBackward(x, w, A, B, dy, { scaling: s, transW: c.transW });
      // dx = dy·Wᵀ + s·(dy·B)·A;  dA = s·(dy·B)ᵀ·x;  dB = s·dyᵀ·(x·Aᵀ)
      const dyB = refMatmul(host(dy), host(B), M, c.N, c.r);
      const dyBA = refMatmul(dyB, host(A), M, c.r, c.K);
      const dxRef = refMatmul(host(dy), host(w), M, c.N, c.K, false, !c.transW).map((v, i) => v + s * dyBA[i]);
      const dARef = refMatmul(dyB, host(x), c.r, M, c.K, true).map((v) => s * v);
      const xa = refMatmul(host(x), host(A), M, c.K, c.r, false, true);
      const dBRef = refMatmul(host(dy), xa, c.N, M, c.r, true).map((v) => s * v);
      await expectClose(dx, f64(dxRef, [...c.lead, c.K]), sumTol(c.N), 'dx');
      await expectClose(dA, f64(dARef, [c.r, c.K]), sumTol(M), 'dA');
      await expectClose(dB, f64(dBRef, [c.N, c.r]), sumTol(M), 'dB');
    });
  }
  it('backward matches central differences of the gpujs forward', () => {
    // y is linear in each of x, A, B, so central differences are exact up to float32
    // rounding of the forward (~1e-6·Σ|terms| / 2·eps with eps = 1e-2).
    const c: LoraCase = { lead: [3], K: 5, N: 4, r: 2, transW: true };
    const { x, w, A, B } = loraInputs(c, 41);
    const opts = { scaling: 1.5, transW: true };
    const wt = randn([3, 4], 46);
    const { dx, dA, dB } = g.loraMatmulBackward(x, w, A, B, wt, opts);
    const f = ([xx, aa, bb]: Tensor[]) => g.loraMatmul(xx, w, aa, bb, opts);
    const inputs = [x, A, B];
    expect(gradError(host(dx), numericGrad(f, inputs, 0, host(wt)))).toBeLessThan(1e-3);
    expect(gradError(host(dA), numericGrad(f, inputs, 1, host(wt)))).toBeLessThan(1e-3);
    expect(gradError(host(dB), numericGrad(f, inputs, 2, host(wt)))).toBeLessThan(1e-3);
  });
  it('rejects bad dropout specs and bad shapes', () => {
    const { x, w, A, B } = loraInputs(LORA_CASES[0], 51);
    expect(() => g.loraMatmul(x, w, A, B, { scaling: 1, dropout: { p: 1, seed: 1 } })).toThrow(/dropout p = 1 must be in \[0, 1\)/);
    expect(() => g.loraMatmul(x, w, A, B, { scaling: 1, dropout: { p: 0.1, seed: 1.5 } })).toThrow(/dropout seed 1.5 must be an integer/);
    expect(() => g.loraMatmul(x, w, B, A, { scaling: 1 })).toThrow(/loraMatmul: A is \[9, 3\], expected \(r, 13\)/);
    expect(() => g.loraMatmul(x, w, A, randn([9, 4], 1), { scaling: 1 })).toThrow(/B is \[9, 4\], expected \[9, 3\]/);
    expect(() => g.loraMatmulBackward(x, w, A, B, randn([7, 8], 1), { scaling: 1 })).toThrow(/dy is \[7, 8\]/);
  });
});

describe('gpujs loraMatmul vs cpu backend', () => {
  for (const c of LORA_CASES) {
    it(`x ${JSON.stringify([...c.lead, c.K])} N ${c.N} r ${c.r} transW=${c.transW}`, async () => {
      const { x, w, A, B, bias } = loraInputs(c, 61);
      const opts = { scaling: 2, bias, transW: c.transW };
      await expectClose(g.loraMatmul(x, w, A, B, opts), cpu.loraMatmul(x, w, A, B, opts), sumTol(c.K), 'forward');
      const dy = randn([...c.lead, c.N], 66);
      const got = g.loraMatmulBackward(x, w, A, B, dy, opts);
      const want = cpu.loraMatmulBackward(x, w, A, B, dy, opts);
      await expectClose(got.dx, want.dx, sumTol(c.N), 'dx');
      await expectClose(got.dA, want.dA, sumTol(x.size / c.K), 'dA');
      await expectClose(got.dB, want.dB, sumTol(x.size / c.K), 'dB');
    });
  }
});

describe('gpujs loraMatmul dropout vs cpu backend (same mask)', () => {
  // Odd shapes: M·K not a multiple of anything, leading dims flattened into the mask index.
  const DROP_CASES: LoraCase[] = [
    { lead: [5, 3], K: 37, N: 11, r: 5, transW: true },
    { lead: [19], K: 70, N: 9, r: 8, transW: false },
    { lead: [1], K: 131, N: 3, r: 1, transW: false },
  ];
  for (const p of [0.1, 0.5]) {
    for (const c of DROP_CASES) {
      it(`p = ${p}: x ${JSON.stringify([...c.lead, c.K])} N ${c.N} r ${c.r} transW=${c.transW}`, async () => {
        const { x, w, A, B, bias } = loraInputs(c, 71);
        const M = x.size / c.K;
        const opts = { scaling: 1.5, bias, transW: c.transW, dropout: { p, seed: 1234 + c.K } };
        // The LoRA branch's inputs are scaled by 1/(1 − p) ≤ 2 and by s: the float32 sums
        // run over values up to s/(1 − p) = 3 in magnitude, hence the factor on atol.
        const tol = (depth: number) => ({ atol: 3 * sumTol(depth).atol, rtol: sumTol(depth).rtol });
        const y = g.loraMatmul(x, w, A, B, opts);
        await expectClose(y, cpu.loraMatmul(x, w, A, B, opts), tol(c.K), 'forward');
        // Not vacuous: the mask changes the output (B ≠ 0), so a dropped mask would fail above.
        const y0 = await g.loraMatmul(x, w, A, B, { ...opts, dropout: undefined }).toArray();
        expect((await y.toArray()).some((v, i) => Math.abs(v - y0[i]) > 1e-3)).toBe(true);
        const dy = randn([...c.lead, c.N], 76);
        const got = g.loraMatmulBackward(x, w, A, B, dy, opts);
        const want = cpu.loraMatmulBackward(x, w, A, B, dy, opts);
        await expectClose(got.dx, want.dx, tol(c.N), 'dx');
        await expectClose(got.dA, want.dA, tol(M), 'dA');
        await expectClose(got.dB, want.dB, tol(Math.max(M, c.K)), 'dB'); // h = xd·Aᵀ (depth K) then dyᵀ·h (depth M)
      });
    }
  }
  it('the seed picks the mask; the same seed gives the same output', async () => {
    const { x, w, A, B } = loraInputs(DROP_CASES[1], 81);
    const run = (seed: number) => g.loraMatmul(x, w, A, B, { scaling: 2, dropout: { p: 0.5, seed } }).toArray();
    expect(await run(7)).toEqual(await run(7));
    expect(await run(7)).not.toEqual(await run(8));
  });
  it('p = 0 is exactly the dropout-free path', async () => {
    const { x, w, A, B } = loraInputs(DROP_CASES[0], 82);
    const opts = { scaling: 2, transW: true };
    expect(await g.loraMatmul(x, w, A, B, { ...opts, dropout: { p: 0, seed: 3 } }).toArray()).toEqual(await g.loraMatmul(x, w, A, B, opts).toArray());
  });
});

// ── elementwise ─────────────────────────────────────────────────

const POSITIVE = new Set<UnaryOp>(['sqrt', 'log', 'reciprocal']);
const unaryInput = (op: UnaryOp, dims: number[], seed: number) =>
  POSITIVE.has(op) ? randn(dims, seed, 0.1, 4) : randn(dims, seed, -4, 4);

describe('gpujs unary vs cpu', () => {
  for (const dims of [[1], [3, 97], [2, 5, 131]]) {
    for (const op of UNARY_OPS) {
      it(`${op} ${JSON.stringify(dims)}`, async () => {
        const x = unaryInput(op, dims, 17 + dims.length);
        // erf is Abramowitz–Stegun 7.1.26 (|err| < 1.5e-7); the rest are float32 Math.
        await expectClose(g.unary(op, x), cpu.unary(op, x), { atol: 2e-6, rtol: 2e-5 }, op);
        const dy = randn(dims, 41 + dims.length);
        // reciprocal′ = −1/x² reaches 100 at x = 0.1, hence rtol carries the scale.
        await expectClose(g.unaryBackward(op, x, dy), cpu.unaryBackward(op, x, dy), { atol: 2e-6, rtol: 2e-5 }, `${op}′`);
      });
    }
  }
  it('not (bool) runs on cpu; float ops reject bool', async () => {
    expect(await g.unary('not', new Tensor('bool', [1, 0, 1], [3])).toArray()).toEqual([0, 1, 0]);
    expect(() => g.unary('exp', new Tensor('bool', [1], [1]))).toThrow(/unary exp: expected float32, got bool/);
    expect(() => g.unaryBackward('exp', randn([2, 3], 1), randn([3, 2], 2))).toThrow(/dy is \[3, 2\], expected x's \[2, 3\]/);
  });
});

const BCAST: [number[], number[]][] = [
  [[1], [1]],
  [[3, 97], [3, 97]],
  [[3, 97], [97]],
  [[2, 1, 5], [3, 1]],
  [[5, 1], [1, 131]],
  [[4, 1, 3, 1, 2], [1, 5, 1, 6, 1]], // five alternating axes: does not collapse, runs on cpu
];
const ARITH: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'];

describe('gpujs binary vs cpu', () => {
  it('collapses broadcasts to ≤ 3 axes', () => {
    expect(collapse3([2, 3, 4], [4], [2, 3, 4])).toEqual({ dims: [1, 6, 4], sa: [0, 4, 1], sb: [0, 0, 1] });
    expect(collapse3([2, 1, 5], [3, 1], [2, 3, 5])).toEqual({ dims: [2, 3, 5], sa: [5, 0, 1], sb: [0, 1, 0] });
    expect(collapse3([4, 1, 3, 1, 2], [1, 5, 1, 6, 1], [4, 5, 3, 6, 2])).toBeNull();
  });
  for (const [da, db] of BCAST) {
    for (const op of ARITH) {
      it(`${op} ${JSON.stringify(da)} ∘ ${JSON.stringify(db)}`, async () => {
        // pow: negative bases with integral exponents (odd and even), positive with fractional.
        const a = op === 'pow' ? randn(da, 3, -2, 2) : randn(da, 3, -2, 2);
        const b = op === 'pow' ? new Tensor('float32', host(randn(db, 4, -3, 3)).map((v, i) => (i % 2 ? Math.round(v) : v)), db) : randn(db, 4, 0.5, 2);
        // Same float64-then-round math as cpu for + − × ÷; pow/max/min identical in float32.
        await expectClose(g.binary(op, a, b), cpu.binary(op, a, b), { atol: 1e-6, rtol: 1e-6 }, op);
        if (op === 'pow') return; // pow′ at negative bases is NaN vs NaN; checked on positives below
        const dy = randn(g.binary(op, a, b).dims as number[], 5);
        const got = g.binaryBackward(op, a, b, dy);
        const want = cpu.binaryBackward(op, a, b, dy);
        // sums over broadcast axes: float32 partials vs the cpu's float64 ones
        await expectClose(got.da, want.da, { atol: 1e-5, rtol: 1e-5 }, `${op} da`);
        await expectClose(got.db, want.db, { atol: 1e-5, rtol: 1e-5 }, `${op} db`);
      });
    }
  }
  it('pow backward on positive bases, max/min ties split the gradient', async () => {
    const a = randn([3, 7], 6, 0.5, 2);
    const b = randn([7], 7, -2, 2);
    const dy = randn([3, 7], 8);
    const got = g.binaryBackward('pow', a, b, dy);
    const want = cpu.binaryBackward('pow', a, b, dy);
    await expectClose(got.da, want.da, { atol: 1e-5, rtol: 1e-5 }, 'pow da');
    await expectClose(got.db, want.db, { atol: 1e-5, rtol: 1e-5 }, 'pow db');
    const tie = new Tensor('float32', [1, 2, 3], [3]);
    const one = new Tensor('float32', [1, 1, 1], [3]);
    expect(await g.binaryBackward('max', tie, new Tensor('float32', [1, 5, 0], [3]), one).da.toArray()).toEqual([0.5, 0, 1]);
  });
  it('comparisons, logic and int32 go to cpu', async () => {
    const a = new Tensor('float32', [1, 2, 3], [3]);
    const b = new Tensor('float32', [2, 2, 2], [3]);
    const lt = g.binary('less', a, b);
    expect(lt.dtype).toBe('bool');
    expect(await lt.toArray()).toEqual([1, 0, 0]);
    const i = g.binary('add', new Tensor('int32', [1, 2], [2]), new Tensor('int32', [3, 4], [2]));
    expect(i.dtype).toBe('int32');
    expect(await i.toArray()).toEqual([4, 6]);
  });
});

describe('gpujs kernels stay in the requested mode', () => {
  it('no kernel was degraded to gpu.js cpu mode', () => {
    expect(g.kernelNames.length).toBeGreaterThan(10);
    expect(g.notes).toEqual([]);
  });
});

// ── webgl2: the browser path, in headless Chromium (SwiftShader's GL) ────────

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/**
 * Runs in the page: every case on a webgl2 backend and on a webasm one (checked against
 * the references above), and gives each case's worst excess over atol + rtol·|webasm|
 * (≤ 0 passes). Its dependencies come in as arguments: this function is sent as source.
 */
function webglPage(Backend: typeof GpuJsBackend, T: typeof Tensor): Record<string, unknown> {
  const gl = new Backend({ mode: 'webgl2' });
  const wa = new Backend({ mode: 'webasm' });
  let seed = 1;
  const rand = (dims: number[], lo = -1, hi = 1) =>
    new T('float32', Float32Array.from({ length: dims.reduce((p, d) => p * d, 1) }, () => {
      seed = (seed * 16807) % 2147483647;
      return lo + ((hi - lo) * seed) / 2147483647;
    }), dims);
  const excess = (x: Tensor, r: Tensor, atol: number, rtol: number) => {
    const a = x.hostData<Float32Array>();
    const b = r.hostData<Float32Array>();
    let worst = a.length === b.length ? -Infinity : Infinity;
    for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) - (atol + rtol * Math.abs(b[i])));
    return worst;
  };
  const out: Record<string, number> = {};
  for (const [M, K, N, ta, tb] of [[1, 1, 1, 0, 0], [13, 33, 17, 1, 0], [97, 31, 5, 0, 1], [130, 300, 67, 1, 1]]) {
    const a = rand(ta ? [K, M] : [M, K]);
    const b = rand(tb ? [N, K] : [K, N]);
    const bias = rand([N]);
    const o = { transA: !!ta, transB: !!tb, bias, alpha: 0.5 };
    out[`matmul ${M}x${K}x${N}`] = excess(gl.matmul(a, b, o), wa.matmul(a, b, o), 2e-6 * K, 1e-5);
  }
  const [x, w, A, B, dy] = [rand([2, 9, 70]), rand([17, 70]), rand([8, 70]), rand([17, 8]), rand([2, 9, 17])];
  const lo = { scaling: 2, transW: true };
  out.lora = excess(gl.loraMatmul(x, w, A, B, lo), wa.loraMatmul(x, w, A, B, lo), 2e-4, 1e-5);
  const [g1, g2] = [gl.loraMatmulBackward(x, w, A, B, dy, lo), wa.loraMatmulBackward(x, w, A, B, dy, lo)];
  out['lora dx'] = excess(g1.dx, g2.dx, 1e-4, 1e-5);
  out['lora dA'] = excess(g1.dA, g2.dA, 1e-4, 1e-5);
  out['lora dB'] = excess(g1.dB, g2.dB, 1e-4, 1e-5);
  const ld = { ...lo, dropout: { p: 0.3, seed: 5 } };
  out['lora dropout'] = excess(gl.loraMatmul(x, w, A, B, ld), wa.loraMatmul(x, w, A, B, ld), 2e-4, 1e-5);
  const [d1, d2] = [gl.loraMatmulBackward(x, w, A, B, dy, ld), wa.loraMatmulBackward(x, w, A, B, dy, ld)];
  out['lora dropout dx'] = excess(d1.dx, d2.dx, 1e-4, 1e-5);
  out['lora dropout dA'] = excess(d1.dA, d2.dA, 1e-4, 1e-5);
  out['lora dropout dB'] = excess(d1.dB, d2.dB, 1e-4, 1e-5);
  const ops = ['neg', 'abs', 'sqrt', 'exp', 'log', 'tanh', 'erf', 'sigmoid', 'relu', 'gelu', 'gelu_tanh', 'silu', 'reciprocal', 'cos', 'sin'] as const;
  for (const op of ops) {
    const v = op === 'sqrt' || op === 'log' || op === 'reciprocal' ? rand([3, 97], 0.1, 4) : rand([3, 97], -4, 4);
    const g = rand([3, 97]);
    out[op] = excess(gl.unary(op, v), wa.unary(op, v), 2e-6, 2e-5);
    out[`${op}′`] = excess(gl.unaryBackward(op, v, g), wa.unaryBackward(op, v, g), 2e-6, 2e-5);
  }
  for (const op of ['add', 'sub', 'mul', 'div', 'max', 'min'] as const) {
    const [a, b] = [rand([2, 1, 5]), rand([3, 1], 0.5, 2)];
    out[op] = excess(gl.binary(op, a, b), wa.binary(op, a, b), 1e-6, 1e-6);
    const g = rand([2, 3, 5]);
    out[`${op}′ a`] = excess(gl.binaryBackward(op, a, b, g).da, wa.binaryBackward(op, a, b, g).da, 1e-5, 1e-5);
    out[`${op}′ b`] = excess(gl.binaryBackward(op, a, b, g).db, wa.binaryBackward(op, a, b, g).db, 1e-5, 1e-5);
  }
  // pow: GLSL pow is undefined for x < 0; the kernel's numpy rules handle integral exponents.
  const [pa, pb] = [rand([2, 1, 5], -2, 2), new T('float32', Float32Array.from([-2, 3, 2]), [3, 1])];
  out.pow = excess(gl.binary('pow', pa, pb), wa.binary('pow', pa, pb), 1e-6, 1e-5);
  return { mode: gl.mode, notes: [...gl.notes, ...wa.notes], excess: out };
}

describe.skipIf(!CHROMIUM)('gpujs webgl2 in headless Chromium', () => {
  it('agrees with webasm on every op (which the suites above check against references)', async () => {
    const { build } = await import('esbuild');
    const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/tensor/${p}`, import.meta.url)));
    const entry = [
      `import { GpuJsBackend } from ${src('gpujs/index.ts')};`,
      `import { Tensor } from ${src('tensor.ts')};`,
      'let r;',
      `try { r = (${webglPage.toString()})(GpuJsBackend, Tensor); } catch (e) { r = { error: String(e && e.stack || e) }; }`,
      "document.body.textContent = 'RESULT' + JSON.stringify(r) + 'END';",
    ].join('\n');
    const bundle = await build({
      stdin: { contents: entry, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
      bundle: true, platform: 'browser', format: 'iife', write: false, logLevel: 'error',
    });
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-gpujs-'));
    writeFileSync(join(dir, 'bundle.js'), bundle.outputFiles[0].text);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><body><script src="bundle.js"></script></body>');
    const run = spawnSync(CHROMIUM!, [
      '--headless=new', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist',
      '--dump-dom', pathToFileURL(join(dir, 'index.html')).href,
    ], { encoding: 'utf8', timeout: 90_000 });
    rmSync(dir, { recursive: true, force: true });
    const m = /RESULT(.*)END/s.exec(run.stdout ?? '');
    expect(m, `no result from chromium: ${run.stderr?.slice(-500)}`).not.toBeNull();
    const r = JSON.parse(m![1]) as { mode: string; notes: string[]; excess: Record<string, number>; error?: string };
    expect(r.error).toBeUndefined();
    expect(r.mode).toBe('webgl2');
    expect(r.notes).toEqual([]);
    const failing = Object.entries(r.excess).filter(([, e]) => !(e <= 0));
    expect(failing, JSON.stringify(r.excess)).toEqual([]);
  });
});
