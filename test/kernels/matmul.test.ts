import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { MatmulOptions } from '../../src/tensor/backend.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectClose, randn } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const t = (data: number[], dims: number[]) => new Tensor('float32', data, dims);

/** The last two dims of x swapped, as a new host tensor (to build transposed operands). */
function swapLast2(x: Tensor): Tensor {
  const d = x.dims;
  const [r, c] = d.slice(-2);
  const src = x.hostData<Float32Array>();
  const dst = new Float32Array(src.length);
  for (let z = 0; z < src.length / (r * c); z++) {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) dst[z * r * c + j * r + i] = src[z * r * c + i * c + j];
  }
  return new Tensor('float32', dst, [...d.slice(0, -2), c, r]);
}

/** Matrix `z` of a (..., r, c) host tensor as a 2-D tensor. */
function slab(x: Tensor, z: number): Tensor {
  const [r, c] = x.dims.slice(-2);
  return new Tensor('float32', x.hostData<Float32Array>().slice(z * r * c, (z + 1) * r * c), [r, c]);
}

describe('cpu matmul: golden cases computed by hand', () => {
  // a = [[1, 2, 3], [4, 5, 6]], b = [[1, 0], [0, 1], [2, -1]]:
  // a·b = [[1 + 6, 2 − 3], [4 + 12, 5 − 6]] = [[7, −1], [16, −1]].
  const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
  const b = t([1, 0, 0, 1, 2, -1], [3, 2]);
  it('2×3 · 3×2', async () => {
    const y = cpu.matmul(a, b);
    expect(y.dims).toEqual([2, 2]);
    expect(await y.toArray()).toEqual([7, -1, 16, -1]);
  });
  it('alpha and bias: 2·a·b + [10, 20]', async () => {
    const y = cpu.matmul(a, b, { alpha: 2, bias: t([10, 20], [2]) });
    expect(await y.toArray()).toEqual([24, 18, 42, 18]);
  });
  it('bias of one element broadcasts over N', async () => {
    expect(await cpu.matmul(a, b, { bias: t([1], [1]) }).toArray()).toEqual([8, 0, 17, 0]);
  });
  it('transA and transB read the stored transposes', async () => {
    // aᵀ stored (3, 2) = [[1, 4], [2, 5], [3, 6]]; bᵀ stored (2, 3) = [[1, 0, 2], [0, 1, -1]].
    const at = t([1, 4, 2, 5, 3, 6], [3, 2]);
    const bt = t([1, 0, 2, 0, 1, -1], [2, 3]);
    expect(await cpu.matmul(at, b, { transA: true }).toArray()).toEqual([7, -1, 16, -1]);
    expect(await cpu.matmul(a, bt, { transB: true }).toArray()).toEqual([7, -1, 16, -1]);
    expect(await cpu.matmul(at, bt, { transA: true, transB: true }).toArray()).toEqual([7, -1, 16, -1]);
  });
  it('1-D operands are promoted and the added dim dropped (ONNX MatMul)', async () => {
    const v = t([1, 1, 1], [3]);
    const yv = cpu.matmul(v, b); // (3)·(3, 2) → (2): column sums of b
    expect(yv.dims).toEqual([2]);
    expect(await yv.toArray()).toEqual([3, 0]);
    const av = cpu.matmul(a, v); // (2, 3)·(3) → (2): row sums of a
    expect(av.dims).toEqual([2]);
    expect(await av.toArray()).toEqual([6, 15]);
    const dot = cpu.matmul(v, t([1, 2, 3], [3]));
    expect(dot.dims).toEqual([]);
    expect(await dot.toArray()).toEqual([6]);
  });
  it('K = 0 gives alpha·0 + bias', async () => {
    const y = cpu.matmul(Tensor.zeros('float32', [2, 0]), Tensor.zeros('float32', [0, 3]), { bias: t([1, 2, 3], [3]) });
    expect(await y.toArray()).toEqual([1, 2, 3, 1, 2, 3]);
  });
});

describe('cpu matmul: properties', () => {
  it('transposed storage with trans flags equals the plain product', async () => {
    const a = randn([5, 7], 1);
    const b = randn([7, 6], 2); // N = 6: the cpu transB path's 4-column blocks and remainder
    const ref = cpu.matmul(a, b);
    const tol = { atol: 0, rtol: 0 }; // same float64 sums in the same order
    await expectClose(cpu.matmul(swapLast2(a), b, { transA: true }), ref, tol, 'transA');
    await expectClose(cpu.matmul(a, swapLast2(b), { transB: true }), ref, tol, 'transB');
    await expectClose(cpu.matmul(swapLast2(a), swapLast2(b), { transA: true, transB: true }), ref, tol, 'both');
  });
  it('broadcast batches equal per-batch 2-D products', async () => {
    const a = randn([2, 1, 3, 4], 3); // broadcast over b's 3
    const b = randn([3, 4, 5], 4); // broadcast over a's 2
    const y = cpu.matmul(a, b);
    expect(y.dims).toEqual([2, 3, 3, 5]);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 3; j++) {
        await expectClose(slab(y, i * 3 + j), cpu.matmul(slab(a, i), slab(b, j)), { atol: 0, rtol: 0 }, `batch (${i}, ${j})`);
      }
    }
  });
  it('errors name both shapes', () => {
    expect(() => cpu.matmul(randn([2, 3], 1), randn([4, 5], 2))).toThrow(/a \[2, 3\] gives K = 3, b \[4, 5\] gives K = 4/);
    expect(() => cpu.matmul(randn([2, 3], 1), randn([4, 5], 2), { transB: true })).toThrow(/b \[4, 5\]ᵀ gives K = 5/);
    expect(() => cpu.matmul(randn([2, 2, 3], 1), randn([3, 3, 4], 2))).toThrow(/matmul batch dims: shapes \[2\] and \[3\]/);
    expect(() => cpu.matmul(randn([2, 3], 1), randn([3, 4], 2), { bias: randn([3], 3) })).toThrow(/bias is \[3\], expected \[4\]/);
    expect(() => cpu.matmul(new Tensor('float32', [1], []), randn([3, 4], 2))).toThrow(/rank ≥ 1/);
    expect(() => cpu.matmul(new Tensor('int32', [1, 2], [1, 2]), randn([2, 4], 2))).toThrow(/matmul a: expected float32, got int32/);
  });
});

interface GpuCase {
  a: number[];
  b: number[];
  opts?: Omit<MatmulOptions, 'bias'> & { bias?: number };
}

// (M, K, N) with M = 1 (GEMV-like), K not a multiple of 4 or of the tile depth 16,
// sizes straddling the 64-wide tiles, and all-multiples-of-4 sizes (the vec4 loads).
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 97, 131], [3, 5, 7], [17, 131, 33], [97, 3, 131], [65, 68, 67], [70, 36, 68], [131, 17, 1],
];

const CASES: GpuCase[] = [
  ...SHAPES.map(([m, k, n]) => ({ a: [m, k], b: [k, n] })),
  // Every transpose combination, on an odd shape and on a vec4 shape.
  ...[[37, 19, 45], [68, 20, 72]].flatMap(([m, k, n]) =>
    [[false, true], [true, false], [true, true]].map(([transA, transB]) => ({
      a: transA ? [k, m] : [m, k], b: transB ? [n, k] : [k, n], opts: { transA, transB },
    }))),
  // Broadcast batches: one b for all (folds into M), a shared, both partly broadcast.
  { a: [2, 3, 5, 19], b: [19, 13] },
  { a: [2, 3, 1, 8], b: [8, 12] },
  { a: [9, 21], b: [2, 21, 10] },
  { a: [2, 1, 7, 9], b: [3, 9, 11] },
  { a: [2, 3, 9, 7], b: [2, 3, 11, 9], opts: { transA: true, transB: true } },
  { a: [3, 6, 17], b: [1, 6, 5], opts: { transA: true } },
  // 4 batch axes left after merging, the most the kernels take (tiled and GEMV).
  { a: [2, 1, 2, 1, 6, 5], b: [1, 3, 1, 2, 5, 4] },
  { a: [2, 1, 2, 1, 1, 5], b: [1, 3, 1, 2, 4, 5], opts: { transB: true } },
  // 1-D operands.
  { a: [19], b: [2, 19, 6] },
  { a: [4, 5, 19], b: [19] },
  // Epilogue: bias (N) or (1), alpha, transposes.
  { a: [33, 70], b: [70, 45], opts: { bias: 45, alpha: 0.5 } },
  { a: [70, 33], b: [45, 70], opts: { bias: 1, alpha: -2, transA: true, transB: true } },
  { a: [2, 5, 12], b: [12, 8], opts: { bias: 8 } },
  // K = 0: bias only.
  { a: [3, 0], b: [0, 5], opts: { bias: 5 } },
  // M ≤ 4 runs kernels/matmul_gemv.wgsl: b (K, N) (entry kn) and b (N, K) (entry nk),
  // scalar and vec4 loads, transA, batches (decode attention q·kᵀ), epilogue.
  { a: [1, 97], b: [131, 97], opts: { transB: true } },
  { a: [3, 64], b: [70, 64], opts: { transB: true, bias: 70, alpha: 0.25 } },
  { a: [2, 4, 1, 16], b: [2, 4, 9, 16], opts: { transB: true } },
  { a: [5, 2], b: [2, 6, 5], opts: { transA: true, transB: true } },
  { a: [19, 3], b: [19, 10], opts: { transA: true } },
  { a: [4, 23], b: [23, 37], opts: { bias: 37, alpha: 1.5 } },
  { a: [2, 1, 36], b: [36, 20] },
  // Enough 64×64 tiles (≥ 128) to take the large-tile configuration.
  { a: [720, 12], b: [12, 730] },
  { a: [22, 13, 65], b: [22, 129, 13], opts: { transA: true, transB: true } },
  { a: [22, 16, 68], b: [22, 16, 132], opts: { transA: true, bias: 132 } },
];

const label = (c: GpuCase) => `${JSON.stringify(c.a)}·${JSON.stringify(c.b)} ${JSON.stringify(c.opts ?? {})}`;

describe.skipIf(!hasWebGpu)('webgpu matmul vs cpu', () => {
  CASES.forEach((c, i) => {
    it(label(c), async () => {
      const g = await gpu();
      const a = randn(c.a, 100 + i);
      const b = randn(c.b, 200 + i);
      const opts: MatmulOptions = { ...c.opts, bias: c.opts?.bias ? randn([c.opts.bias], 300 + i) : undefined };
      const want = cpu.matmul(a, b, opts);
      const got = g.matmul(g.upload(a), g.upload(b), { ...opts, bias: opts.bias && g.upload(opts.bias) });
      // float32 FMA accumulation over K ≤ 131 of products in [−1, 1] against float64 sums:
      // rounding grows like √K·2⁻²⁴·Σ|aᵢbᵢ|; measured max |diff| 6.2e-6 (K = 131), at most
      // 0.2 of this bound on any element.
      await expectClose(got, want, { atol: 1e-5, rtol: 1e-5 }, label(c));
    });
  });
  it('host operands are uploaded on the fly', async () => {
    const g = await gpu();
    const a = randn([5, 6], 7);
    const b = randn([6, 3], 8);
    await expectClose(g.matmul(a, b), cpu.matmul(a, b), { atol: 1e-5, rtol: 1e-5 }, 'host inputs');
  });
  it('golden 2×3 · 3×2 with alpha and bias', async () => {
    const g = await gpu();
    const y = g.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([1, 0, 0, 1, 2, -1], [3, 2]), { alpha: 2, bias: t([10, 20], [2]) });
    expect(await y.toArray()).toEqual([24, 18, 42, 18]);
  });
  it('errors name both shapes', async () => {
    const g = await gpu();
    expect(() => g.matmul(randn([2, 3], 1), randn([4, 5], 2))).toThrow(/a \[2, 3\] gives K = 3, b \[4, 5\] gives K = 4/);
    expect(() => g.matmul(randn([2, 3], 1), randn([3, 4], 2), { bias: randn([2, 4], 3) })).toThrow(/bias is \[2, 4\], expected \[4\]/);
    expect(() => g.matmul(new Tensor('int32', [1, 2], [1, 2]), randn([2, 4], 2))).toThrow(/matmul a: expected float32, got int32/);
    expect(() => g.matmul(randn([2, 1, 2, 1, 2, 1, 1], 1), randn([1, 2, 1, 2, 1, 1, 1], 2))).toThrow(/need 5 axes after merging; the kernel handles 4/);
  });
  it('empty outputs launch nothing', async () => {
    const g = await gpu();
    const y = g.matmul(randn([0, 4], 1), randn([4, 3], 2));
    expect(y.dims).toEqual([0, 3]);
    expect(await y.toArray()).toEqual([]);
  });
});
