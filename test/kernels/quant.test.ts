/**
 * DequantizeLinear, MatMulNBits weight dequantization and ScatterND: hand-computed golden
 * cases, the cpu reference against onnxruntime-web (one-node models), webgpu against cpu.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor, packInt4, type DType } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectClose, randInt, randn, rng } from '../helpers/numeric.js';
import { nodeModel, runOnnx } from '../helpers/onnxModel.js';

const cpu = new CpuBackend();
const EXACT = { atol: 0, rtol: 0 };

/** Random quantized values over the dtype's whole range. */
function randQ(dtype: DType, dims: number[], seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const [lo, span] = dtype === 'int8' ? [-128, 256] : dtype === 'uint8' ? [0, 256] : [-8, 16];
  const v = Array.from({ length: n }, () => lo + Math.floor(span * r()));
  return dtype === 'int4' ? new Tensor('int4', packInt4(v), dims) : new Tensor(dtype, v, dims);
}

const randBytes = (n: number, seed: number) => {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(256 * r()));
};

// ── DequantizeLinear ─────────────────────────────────────────────

interface DqCase {
  name: string;
  dtype: 'int8' | 'uint8' | 'int4';
  dims: number[];
  axis: number;
  blockSize: number;
  /** Scale dims: [] per tensor, [d] per axis, blocked shape otherwise. */
  scaleDims: number[];
  zp: boolean;
}

const DQ_CASES: DqCase[] = [];
for (const dtype of ['int8', 'uint8', 'int4'] as const) {
  for (const zp of [false, true]) {
    DQ_CASES.push(
      { name: 'per tensor', dtype, dims: [3, 97], axis: 1, blockSize: 0, scaleDims: [], zp },
      { name: 'per axis 0', dtype, dims: [5, 37], axis: 0, blockSize: 0, scaleDims: [5], zp },
      { name: 'per axis -2', dtype, dims: [2, 7, 13], axis: -2, blockSize: 0, scaleDims: [7], zp },
      { name: 'blocked axis 1, 37 = 2·16 + 5', dtype, dims: [3, 37, 5], axis: 1, blockSize: 16, scaleDims: [3, 3, 5], zp },
      { name: 'blocked last axis, 131 = 4·32 + 3', dtype, dims: [7, 131], axis: -1, blockSize: 32, scaleDims: [7, 5], zp },
    );
  }
}

function dqInputs(c: DqCase, seed: number) {
  return {
    x: randQ(c.dtype, c.dims, seed),
    scale: randn(c.scaleDims, seed + 1, 0.01, 0.5),
    zeroPoint: c.zp ? randQ(c.dtype, c.scaleDims, seed + 2) : undefined,
  };
}

describe('cpu dequantize: golden cases', () => {
  it('per tensor uint8 with zero point 128', async () => {
    const y = cpu.dequantize(new Tensor('uint8', [0, 128, 255], [3]), new Tensor('float32', [0.5], []), new Tensor('uint8', [128], []), 0);
    expect(await y.toArray()).toEqual([-64, 0, 63.5]);
  });
  it('per axis int8 (axis 0, no zero point)', async () => {
    const x = new Tensor('int8', [-128, 1, 127, 3, -2, 0], [2, 3]);
    const y = cpu.dequantize(x, new Tensor('float32', [2, 0.25], [2]), undefined, 0);
    expect(await y.toArray()).toEqual([-256, 2, 254, 0.75, -0.5, 0]);
  });
  it('blocked int4 along axis 1, block 2', async () => {
    // Row 0: (−8−1)·0.5, (7−1)·0.5 | (3+1)·2, (−2+1)·2; row 1: (1−0)·1, 0 | (5−2)·3, (−1−2)·3.
    const x = new Tensor('int4', [-8, 7, 3, -2, 1, 0, 5, -1], [2, 4]);
    const y = cpu.dequantize(x, new Tensor('float32', [0.5, 2, 1, 3], [2, 2]), new Tensor('int4', [1, -1, 0, 2], [2, 2]), 1, 2);
    expect(await y.toArray()).toEqual([-4.5, 3, 8, -2, 1, 0, 9, -9]);
  });
  it('rejects bad shapes and dtypes, naming them', () => {
    const x = randQ('int8', [4, 6], 1);
    const s = (dims: number[]) => randn(dims, 2, 0.1, 1);
    expect(() => cpu.dequantize(randn([2], 1), s([]), undefined, 0)).toThrow(/dequantize: x must be int8, uint8 or int4, got float32/);
    expect(() => cpu.dequantize(x, s([5]), undefined, 1)).toThrow(/per-axis scale must be \(6\).*got \[5\]/);
    expect(() => cpu.dequantize(x, s([4, 3]), undefined, 1, 4)).toThrow(/blocked scale must be \[4, 2\]/);
    expect(() => cpu.dequantize(x, s([6]), new Tensor('uint8', [0, 0, 0, 0, 0, 0], [6]), 1)).toThrow(/zero point uint8 \[6\] must be int8/);
    expect(() => cpu.dequantize(x, s([6]), undefined, 2)).toThrow(/axis 2 is out of range/);
  });
});

describe('cpu dequantize vs onnxruntime-web (DequantizeLinear, opset 21)', () => {
  DQ_CASES.forEach((c, i) => {
    it(`${c.dtype} ${c.name}${c.zp ? ' with zero point' : ''}`, async () => {
      const { x, scale, zeroPoint } = dqInputs(c, 100 + i);
      const initializers: Record<string, Tensor> = { x, scale, ...(zeroPoint ? { zp: zeroPoint } : {}) };
      const attributes = { axis: c.axis, ...(c.blockSize ? { block_size: c.blockSize } : {}) };
      const { y } = await runOnnx(nodeModel({ opType: 'DequantizeLinear', initializers, outputs: { y: 'float32' }, attributes }));
      // An exact integer times a float32 is rounded once on both sides: bit-identical.
      await expectClose(cpu.dequantize(x, scale, zeroPoint, c.axis, c.blockSize), y, EXACT, 'dequantize');
    });
  });
});

describe.skipIf(!hasWebGpu)('webgpu dequantize vs cpu', () => {
  DQ_CASES.forEach((c, i) => {
    it(`${c.dtype} ${c.name}${c.zp ? ' with zero point' : ''}`, async () => {
      const g = await gpu();
      const { x, scale, zeroPoint } = dqInputs(c, 200 + i);
      // Host x here (uploaded by the op), device x below: both layouts reach the kernel.
      const y = g.dequantize(i % 2 ? g.upload(x) : x, scale, zeroPoint, c.axis, c.blockSize);
      await expectClose(y, cpu.dequantize(x, scale, zeroPoint, c.axis, c.blockSize), EXACT, 'dequantize');
    });
  });
  it('rejects bad shapes like cpu', async () => {
    const g = await gpu();
    expect(() => g.dequantize(randQ('int4', [4, 6], 1), randn([5], 2), undefined, 1)).toThrow(/per-axis scale must be \(6\)/);
  });
});

// ── MatMulNBits weights ──────────────────────────────────────────

interface NbCase {
  n: number;
  k: number;
  bits: number;
  blockSize: number;
  zp: 'none' | 'packed' | 'float';
}

function nbInputs(c: NbCase, seed: number) {
  const blocks = Math.ceil(c.k / c.blockSize);
  const blob = (c.blockSize * c.bits) / 8;
  const zpRow = Math.ceil((blocks * c.bits) / 8);
  const b = new Tensor('uint8', randBytes(c.n * blocks * blob, seed), [c.n, blocks, blob]);
  const scales = randn([c.n, blocks], seed + 1, 0.01, 0.2);
  const zp =
    c.zp === 'packed' ? new Tensor('uint8', randBytes(c.n * zpRow, seed + 2), [c.n * zpRow])
    : c.zp === 'float' ? randn([c.n, blocks], seed + 2, 0, 2 ** c.bits - 1)
    : undefined;
  return { b, scales, zp };
}

const NB_CASES: NbCase[] = [
  { n: 5, k: 20, bits: 4, blockSize: 16, zp: 'none' }, // K = 16 + 4: a padded last block
  { n: 5, k: 20, bits: 4, blockSize: 16, zp: 'packed' },
  { n: 3, k: 40, bits: 4, blockSize: 16, zp: 'packed' }, // 3 blocks: zero-point rows of 2 bytes, one nibble of padding
  { n: 7, k: 70, bits: 4, blockSize: 32, zp: 'none' },
  { n: 4, k: 20, bits: 8, blockSize: 16, zp: 'none' },
  { n: 4, k: 50, bits: 8, blockSize: 16, zp: 'packed' },
  { n: 3, k: 40, bits: 4, blockSize: 16, zp: 'float' },
  { n: 3, k: 40, bits: 2, blockSize: 16, zp: 'packed' },
];
const nbName = (c: NbCase) => `N=${c.n} K=${c.k} bits=${c.bits} block=${c.blockSize} zp=${c.zp}`;

describe('cpu dequantizeBlockwise: golden cases', () => {
  // N=2, K=6, 4 bits, block 4: 2 blocks of 2 bytes per row, the last block half padding.
  // Row 0 nibbles 1 2 3 4 | 5 6 (0 0); row 1 nibbles 0 15 10 8 | 7 0 (9 0).
  const b = new Tensor('uint8', [0x21, 0x43, 0x65, 0x00, 0xf0, 0x8a, 0x07, 0x09], [2, 2, 2]);
  const scales = new Tensor('float32', [1, 0.5, 2, 0.25], [2, 2]);
  it('4 bits, K not a multiple of the block, default zero point 8', async () => {
    const y = cpu.dequantizeBlockwise(b, scales, undefined, 2, 6, 4, 4);
    expect(y.dims).toEqual([2, 6]);
    expect(await y.toArray()).toEqual([-7, -6, -5, -4, -1.5, -1, -16, 14, 4, 0, -0.25, -2]);
  });
  it('4 bits with packed zero points (one byte per row: blocks 0, 1 in the low, high nibble)', async () => {
    const zp = new Tensor('uint8', [0x31, 0x0f], [2, 1]); // row 0: 1, 3; row 1: 15, 0
    const y = cpu.dequantizeBlockwise(b, scales, zp, 2, 6, 4, 4);
    expect(await y.toArray()).toEqual([0, 1, 2, 3, 1, 1.5, -30, 0, -10, -14, 1.75, 0]);
  });
  it('8 bits, default zero point 128', async () => {
    const b8 = new Tensor('uint8', [130, 126, 0, 255], [1, 2, 2]); // K=3: the last byte is padding
    const y = cpu.dequantizeBlockwise(b8, new Tensor('float32', [0.5, 2], [1, 2]), undefined, 1, 3, 8, 2);
    expect(await y.toArray()).toEqual([1, -1, -256]);
  });
  it('rejects bad layouts, naming the expected shape', () => {
    expect(() => cpu.dequantizeBlockwise(b, scales, undefined, 2, 9, 4, 4)).toThrow(/B must be uint8 \(2, 3, 2\)/);
    expect(() => cpu.dequantizeBlockwise(b, randn([3], 1), undefined, 2, 6, 4, 4)).toThrow(/scales must be float32 with N·k_blocks = 4/);
    expect(() => cpu.dequantizeBlockwise(b, scales, new Tensor('uint8', [1, 2, 3], [3]), 2, 6, 4, 4)).toThrow(/zero points must be uint8 packed \(2, 1\) or float32 \(2, 2\)/);
    expect(() => cpu.dequantizeBlockwise(b, scales, undefined, 2, 6, 3, 4)).toThrow(/bits 3 is not supported/);
  });
});

describe('cpu dequantizeBlockwise vs onnxruntime-web (com.microsoft MatMulNBits)', () => {
  const model = (c: NbCase, zp: Tensor | undefined, b: Tensor, scales: Tensor, a: Tensor) =>
    nodeModel({
      opType: 'MatMulNBits', domain: 'com.microsoft', inputs: { a }, initializers: { b, scales, ...(zp ? { zp } : {}) },
      outputs: { y: 'float32' }, attributes: { K: c.k, N: c.n, bits: c.bits, block_size: c.blockSize },
    });
  NB_CASES.forEach((c, i) => {
    it(`${nbName(c)}: identity A reads the weights back`, async () => {
      const { b, scales, zp } = nbInputs(c, 300 + i);
      // A = I (K, K): y = Wᵀ, one product per output, so the dequantized values are compared as they are.
      const eye = new Float32Array(c.k * c.k);
      for (let j = 0; j < c.k; j++) eye[j * c.k + j] = 1;
      const a = new Tensor('float32', eye, [c.k, c.k]);
      const { y } = await runOnnx(model(c, zp, b, scales, a), { a });
      const w = cpu.dequantizeBlockwise(b, scales, zp, c.n, c.k, c.bits, c.blockSize);
      // Integer zero points: exact. Float zero points: (q − zp) rounds once more in float32 there.
      const tol = c.zp === 'float' ? { atol: 1e-6, rtol: 1e-6 } : EXACT;
      await expectClose(cpu.matmul(a, w, { transB: true }), y, tol, 'Wᵀ');
    });
    it(`${nbName(c)}: dequantize + matmul matches MatMulNBits`, async () => {
      const { b, scales, zp } = nbInputs(c, 400 + i);
      const a = randn([3, c.k], 500 + i);
      const { y } = await runOnnx(model(c, zp, b, scales, a), { a });
      const w = cpu.dequantizeBlockwise(b, scales, zp, c.n, c.k, c.bits, c.blockSize);
      // Sums of K ≤ 70 products of size ≤ ~3 in float32 (onnxruntime) vs float64: ~1e-6.
      await expectClose(cpu.matmul(a, w, { transB: true }), y, { atol: 1e-5, rtol: 1e-5 }, 'MatMulNBits');
    });
  });
});

describe.skipIf(!hasWebGpu)('webgpu dequantizeBlockwise vs cpu', () => {
  const cases: NbCase[] = [...NB_CASES, { n: 33, k: 257, bits: 4, blockSize: 64, zp: 'packed' }, { n: 1, k: 1, bits: 4, blockSize: 16, zp: 'none' }];
  cases.forEach((c, i) => {
    it(nbName(c), async () => {
      const g = await gpu();
      const { b, scales, zp } = nbInputs(c, 600 + i);
      const y = g.dequantizeBlockwise(g.upload(b), scales, zp, c.n, c.k, c.bits, c.blockSize);
      // Float zero points: (q − zp)·s in float32 on the device, float64 in the reference.
      const tol = c.zp === 'float' ? { atol: 1e-6, rtol: 1e-6 } : EXACT;
      await expectClose(y, cpu.dequantizeBlockwise(b, scales, zp, c.n, c.k, c.bits, c.blockSize), tol, 'dequantizeBlockwise');
    });
  });
});

// ── ScatterND ────────────────────────────────────────────────────

describe('cpu scatterND: golden cases', () => {
  const data = new Tensor('float32', [1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
  const indices = new Tensor('int32', [1, -1, 1], [3, 1]); // row 1 twice, row −1 = 3
  const updates = new Tensor('float32', [10, 20, 30, 40, 50, 60], [3, 2]);
  it("'none': rows replaced, the last of duplicates wins, negative indices wrap", async () => {
    expect(await cpu.scatterND(data, indices, updates).toArray()).toEqual([1, 2, 50, 60, 5, 6, 30, 40]);
  });
  it("'add': duplicates summed", async () => {
    expect(await cpu.scatterND(data, indices, updates, 'add').toArray()).toEqual([1, 2, 63, 84, 5, 6, 37, 48]);
  });
  it('k = rank: single elements', async () => {
    const d = new Tensor('int32', [1, 2, 3, 4, 5, 6], [2, 3]);
    const y = cpu.scatterND(d, new Tensor('int64', [0n, 1n, 1n, -1n], [2, 2]), new Tensor('int32', [70, 90], [2]));
    expect(await y.toArray()).toEqual([1, 70, 3, 4, 5, 90]);
  });
  it('rejects bad shapes, dtypes and indices', () => {
    expect(() => cpu.scatterND(data, indices, randn([3, 3], 1))).toThrow(/updates \[3, 3\] must be \[3, 2\]/);
    expect(() => cpu.scatterND(data, new Tensor('int32', [4], [1, 1]), randn([1, 2], 1))).toThrow(/index 4 \(update 0, position 0\) is outside \[-4, 4\)/);
    expect(() => cpu.scatterND(data, randn([3, 1], 1), updates)).toThrow(/indices must be int32/);
    expect(() => cpu.scatterND(data, indices, new Tensor('int32', [1, 2, 3, 4, 5, 6], [3, 2]))).toThrow(/updates must have data's dtype float32/);
    expect(() => cpu.scatterND(data, indices, updates, 'mul' as 'add')).toThrow(/reduction 'mul' is not supported/);
  });
});

interface ScCase {
  data: number[];
  /** Index tuples (M, k) are drawn in [−dim, dim): duplicates happen. */
  m: number[];
  k: number;
  dtype: 'float32' | 'int32';
}

function scInputs(c: ScCase, seed: number) {
  const r = rng(seed);
  const idx: number[] = [];
  const M = c.m.reduce((a, b) => a * b, 1);
  for (let i = 0; i < M; i++) for (let j = 0; j < c.k; j++) idx.push(Math.floor(c.data[j] * (2 * r() - 1)));
  const upDims = [...c.m, ...c.data.slice(c.k)];
  const make = (dims: number[], s: number) => (c.dtype === 'float32' ? randn(dims, s) : randInt(dims, s, -100, 100));
  return { data: make(c.data, seed + 1), indices: new Tensor('int32', idx, [...c.m, c.k]), updates: make(upDims, seed + 2) };
}

const SC_CASES: ScCase[] = [
  { data: [7, 5], m: [4], k: 1, dtype: 'float32' },
  { data: [3, 4, 5], m: [2, 3], k: 2, dtype: 'float32' },
  { data: [3, 4, 5], m: [6], k: 3, dtype: 'int32' },
  { data: [2, 97], m: [5], k: 1, dtype: 'float32' },
  { data: [9, 3, 31], m: [3, 4], k: 2, dtype: 'int32' },
];
const scName = (c: ScCase, red: string) => `${red} ${c.dtype} data ${JSON.stringify(c.data)} indices ${JSON.stringify([...c.m, c.k])}`;

describe('cpu scatterND vs onnxruntime-web (ScatterND, opset 18)', () => {
  SC_CASES.forEach((c, i) => {
    for (const red of ['none', 'add'] as const) {
      it(scName(c, red), async () => {
        const { data, indices, updates } = scInputs(c, 700 + i);
        const model = nodeModel({
          opType: 'ScatterND', opset: 18, inputs: { data }, initializers: { indices: toInt64(indices), updates },
          outputs: { y: c.dtype }, attributes: { reduction: red },
        });
        const { y } = await runOnnx(model, { data });
        // 'add' sums ≤ 4 duplicates in float32 there, in float64 here.
        await expectClose(cpu.scatterND(data, indices, updates, red), y, { atol: 1e-6, rtol: 1e-6 }, 'scatterND');
      });
    }
  });
});

function toInt64(t: Tensor): Tensor {
  return new Tensor('int64', BigInt64Array.from(t.hostData<Int32Array>(), (v) => BigInt(v)), t.dims);
}

describe.skipIf(!hasWebGpu)('webgpu scatterND vs cpu', () => {
  const cases: ScCase[] = [...SC_CASES, { data: [257, 3], m: [300], k: 1, dtype: 'float32' }, { data: [1, 131], m: [1], k: 2, dtype: 'int32' }];
  cases.forEach((c, i) => {
    for (const red of ['none', 'add'] as const) {
      it(scName(c, red), async () => {
        const g = await gpu();
        const { data, indices, updates } = scInputs(c, 800 + i);
        // Indices on the device for odd cases (no host check), on the host (int64) for even ones.
        const idx = i % 2 ? g.upload(indices) : toInt64(indices);
        const y = g.scatterND(g.upload(data), idx, g.upload(updates), red);
        // 'none' copies bits; 'add' sums duplicates in float32 in the same order as the
        // reference's float64: one rounding per add (300 updates over 257 rows: ≤ ~5 each).
        await expectClose(y, cpu.scatterND(data, indices, updates, red), { atol: 1e-6, rtol: 1e-6 }, 'scatterND');
      });
    }
  });
  it('drops nothing when there are no updates; host indices are range-checked', async () => {
    const g = await gpu();
    const data = randn([4, 3], 1);
    const none = g.scatterND(data, new Tensor('int32', [], [0, 1]), randn([0, 3], 2));
    await expectClose(none, data, EXACT, 'no updates');
    expect(() => g.scatterND(data, new Tensor('int32', [-5], [1, 1]), randn([1, 3], 2))).toThrow(/index -5 .* is outside \[-4, 4\)/);
  });
});
