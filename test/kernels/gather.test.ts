import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { gatherCsr } from '../../src/tensor/cpu/layoutPlan.js';
import { Tensor, type DType } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randInt, randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();

const iota = (dims: number[]) => new Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i), dims);
const ids = (values: number[], dims = [values.length]) => new Tensor('int32', Int32Array.from(values), dims);

/** Random data of a dtype (float16 as raw finite half bits: a gather moves bits unchanged). */
function rand(dtype: DType, dims: readonly number[], seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const ints = (lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r()));
  if (dtype === 'float32') return randn(dims, seed, -3, 3);
  if (dtype === 'int32') return new Tensor('int32', Int32Array.from(ints(-1000, 1000)), dims);
  if (dtype === 'bool') return new Tensor('bool', Uint8Array.from(ints(0, 2)), dims);
  if (dtype === 'float16') return new Tensor('float16', Uint16Array.from(ints(0, 0x7c00)), dims);
  if (dtype === 'uint8') return new Tensor('uint8', Uint8Array.from(ints(0, 256)), dims);
  throw new Error(dtype);
}

async function expectSame(actual: Tensor, expected: Tensor, what: string): Promise<void> {
  expect(actual.dims, `${what}: dims`).toEqual(expected.dims);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  expect(await actual.toArray(), what).toEqual(await expected.toArray());
}

/** Indices in [-len, len) with repeats (a small range over many positions). */
const withRepeats = (dims: number[], len: number, seed: number) => randInt(dims, seed, -len, len);

describe('cpu gather reference: golden cases', () => {
  it('axis 0 with a negative index (an embedding lookup)', async () => {
    // data (3, 2) = [[0, 1], [2, 3], [4, 5]]; rows 2, -3 → 0, 1
    const y = cpu.gather(iota([3, 2]), ids([2, -3, 1]), 0);
    expect(y.dims).toEqual([3, 2]);
    expect(await y.toArray()).toEqual([4, 5, 0, 1, 2, 3]);
  });
  it('axis 1 with a 2-D indices tensor', async () => {
    // data (2, 3) = [[0, 1, 2], [3, 4, 5]]; indices [[2, 0], [-1, 1]] → out (2, 2, 2)
    const y = cpu.gather(iota([2, 3]), ids([2, 0, -1, 1], [2, 2]), 1);
    expect(y.dims).toEqual([2, 2, 2]);
    expect(await y.toArray()).toEqual([2, 0, 2, 1, 5, 3, 5, 4]);
  });
  it('scalar indices drop the axis', async () => {
    const y = cpu.gather(iota([2, 3]), new Tensor('int32', [1], []), 1);
    expect(y.dims).toEqual([2]);
    expect(await y.toArray()).toEqual([1, 4]);
  });
  it('backward sums repeated indices', async () => {
    // dy (4, 2) for rows [1, -2, 0, 1] of data (3, 2): row 1 gets dy rows 0, 1, 3
    const dx = cpu.gatherBackward(ids([1, -2, 0, 1]), iota([4, 2]), [3, 2], 0);
    expect(await dx.toArray()).toEqual([4, 5, 0 + 2 + 6, 1 + 3 + 7, 0, 0]);
  });
  it('the CSR grouping lists positions per distinct row, ascending', () => {
    const { csr, distinct } = gatherCsr(Int32Array.from([3, 0, 3, 3, 1]), 5);
    expect(distinct).toBe(3);
    // slots per row | offsets | positions
    expect([...csr]).toEqual([1, 2, -1, 0, -1, 0, 3, 4, 5, 0, 2, 3, 1, 4]);
  });
});

describe('cpu gather reference: errors name the shapes', () => {
  it('out-of-range index, wrong dtype, bad axis, dy shape', () => {
    expect(() => cpu.gather(iota([3, 2]), ids([0, 3]), 0)).toThrow(/gather: index 3 at position 1 is out of range for axis 0 \(size 3\) of data \[3, 2\]/);
    expect(() => cpu.gather(iota([3, 2]), ids([-4]), 0)).toThrow(/index -4 at position 0/);
    expect(() => cpu.gather(iota([3, 2]), randn([2], 1), 0)).toThrow(/gather indices: expected int32 indices, got float32 \[2\]/);
    expect(() => cpu.gather(iota([3, 2]), ids([0]), 2)).toThrow(/gather of data \[3, 2\]: axis 2 is out of range for rank 2/);
    expect(() => cpu.gatherBackward(ids([0, 1]), randn([3, 2], 1), [3, 2], 0)).toThrow(
      /gatherBackward: dy is \[3, 2\], expected \[2, 2\] \(gather of data \[3, 2\] by indices \[2\]\)/,
    );
    expect(() => cpu.gatherBackward(ids([5]), randn([1, 2], 1), [3, 2], 0)).toThrow(/gatherBackward: index 5 at position 0 is out of range/);
  });
});

describe('cpu gatherBackward vs central differences', () => {
  const cases: [number[], number[], number][] = [
    [[5, 3], [7], 0], // 7 positions over 5 rows: repeats certain
    [[2, 4, 3], [2, 3], 1],
    [[3, 2, 4], [6], -1],
  ];
  for (const [dataDims, idxDims, axis] of cases) {
    it(`data ${JSON.stringify(dataDims)} indices ${JSON.stringify(idxDims)} axis ${axis}`, () => {
      const len = dataDims[axis < 0 ? axis + dataDims.length : axis];
      const idx = withRepeats(idxDims, len, 7);
      const x = randn(dataDims, 3);
      const yDims = cpu.gather(x, idx, axis).dims;
      const w = randn(yDims, 4).hostData<Float32Array>();
      const analytic = cpu.gatherBackward(idx, new Tensor('float32', w, yDims), dataDims, axis).hostData<Float32Array>();
      const numeric = numericGrad(([t]) => cpu.gather(t, idx, axis), [x], 0, w, 1e-2);
      // A linear op: central differences are exact up to float32 rounding of x ± eps.
      expect(gradError(analytic, numeric)).toBeLessThan(1e-4);
    });
  }
});

describe.skipIf(!hasWebGpu)('webgpu gather vs cpu', () => {
  const cases: [number[], number[], number][] = [
    [[97, 7], [3], 0],
    [[7, 97], [5, 3], 1], // 2-D indices
    [[3, 7, 5], [97], 1],
    [[3, 1, 7], [2, 2], -1],
    [[257, 3], [1], 0],
    [[5], [131], 0], // inner = 1
    [[7, 3], [0], 0], // no indices: empty output
  ];
  for (const [dataDims, idxDims, axis] of cases) {
    it(`data ${JSON.stringify(dataDims)} indices ${JSON.stringify(idxDims)} axis ${axis}, host and device indices`, async () => {
      const g = await gpu();
      const len = dataDims[axis < 0 ? axis + dataDims.length : axis];
      const idx = withRepeats(idxDims, len, dataDims.length + idxDims.length);
      const data = rand('float32', dataDims, 2);
      const want = cpu.gather(data, idx, axis);
      await expectSame(g.gather(g.upload(data), idx, axis), want, 'host indices');
      // Device indices skip the host check: the kernel wraps negatives itself.
      await expectSame(g.gather(data, g.upload(idx), axis), want, 'device indices');
    });
  }
  for (const dtype of ['int32', 'bool', 'float16', 'uint8'] as DType[]) {
    it(`${dtype} data (packed dtypes word by word)`, async () => {
      const g = await gpu();
      const data = rand(dtype, [7, 5], 3);
      for (const axis of [0, 1]) {
        const idx = withRepeats([3, 3], data.dims[axis], axis + 9);
        await expectSame(g.gather(g.upload(data), idx, axis), cpu.gather(data, idx, axis), `${dtype} axis ${axis}`);
      }
    });
  }
  it('a host out-of-range index is an error; a device one reads zeros', async () => {
    const g = await gpu();
    const data = iota([3, 2]);
    expect(() => g.gather(data, ids([1, 3]), 0)).toThrow(/gather: index 3 at position 1 is out of range for axis 0 \(size 3\) of data \[3, 2\]/);
    const y = g.gather(data, g.upload(ids([1, 3, -4, -1])), 0);
    expect(await y.toArray()).toEqual([2, 3, 0, 0, 0, 0, 4, 5]);
  });
});

describe.skipIf(!hasWebGpu)('webgpu gatherBackward vs cpu', () => {
  const cases: [number[], number[], number][] = [
    [[97, 7], [131], 0], // many repeats over 97 rows
    [[7, 97], [3, 5], 1],
    [[3, 5, 7], [13], 1],
    [[3, 2, 7], [9], -1],
    [[5, 3], [0], 0], // no indices: zeros
  ];
  for (const [dataDims, idxDims, axis] of cases) {
    it(`data ${JSON.stringify(dataDims)} indices ${JSON.stringify(idxDims)} axis ${axis}, host (CSR) and device (scan) indices`, async () => {
      const g = await gpu();
      const len = dataDims[axis < 0 ? axis + dataDims.length : axis];
      const idx = withRepeats(idxDims, len, 5);
      const dy = randn(cpu.gather(randn(dataDims, 1), idx, axis).dims, 6);
      const want = cpu.gatherBackward(idx, dy, dataDims, axis);
      // float32 sums of ≤ ~10 terms against the float64 reference.
      const tol = { atol: 1e-6, rtol: 1e-5 };
      await expectClose(g.gatherBackward(idx, g.upload(dy), dataDims, axis), want, tol, 'host indices (CSR)');
      await expectClose(g.gatherBackward(g.upload(idx), g.upload(dy), dataDims, axis), want, tol, 'device indices (scan)');
    });
  }
  it('is deterministic: two runs give identical bits', async () => {
    const g = await gpu();
    const idx = withRepeats([257], 11, 3);
    const dy = g.upload(randn([257, 33], 4));
    const a = await g.gatherBackward(idx, dy, [11, 33], 0).data();
    const b = await g.gatherBackward(idx, dy, [11, 33], 0).data();
    expect(a).toEqual(b);
  });
  it('errors name the shapes', async () => {
    const g = await gpu();
    expect(() => g.gatherBackward(ids([0, 1]), randn([3, 2], 1), [3, 2], 0)).toThrow(/gatherBackward: dy is \[3, 2\], expected \[2, 2\]/);
    expect(() => g.gatherBackward(ids([3]), randn([1, 2], 1), [3, 2], 0)).toThrow(/gatherBackward: index 3 at position 0 is out of range for axis 0 \(size 3\) of data \[3, 2\]/);
  });
});
