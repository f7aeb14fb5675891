import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { copyStrided } from '../../src/tensor/webgpu/copyStrided.js';
import { gpuStorage } from '../../src/tensor/webgpu/storage.js';
import { transposePlan } from '../../src/tensor/cpu/layoutPlan.js';
import { packInt4, Tensor, type DType } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** Random values of any dtype (raw bits for float16: copies must move them unchanged). */
function rand(dtype: DType, dims: readonly number[], seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  const ints = (lo: number, hi: number) => Array.from({ length: n }, () => lo + Math.floor((hi - lo) * r()));
  switch (dtype) {
    case 'float32': return randn(dims, seed, -3, 3);
    case 'int32': return new Tensor('int32', Int32Array.from(ints(-1000, 1000)), dims);
    case 'bool': return new Tensor('bool', Uint8Array.from(ints(0, 2)), dims);
    case 'float16': return new Tensor('float16', Uint16Array.from(ints(0, 0x7c00)), dims); // finite halves
    case 'int8': return new Tensor('int8', Int8Array.from(ints(-128, 128)), dims);
    case 'uint8': return new Tensor('uint8', Uint8Array.from(ints(0, 256)), dims);
    case 'int4': return new Tensor('int4', packInt4(ints(-8, 8)), dims);
    default: throw new Error(dtype);
  }
}

/** Copies are bit-exact: same dtype, dims and host bytes. */
async function expectSame(actual: Tensor, expected: Tensor, what: string): Promise<void> {
  expect(actual.dims, `${what}: dims`).toEqual(expected.dims);
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  expect(await actual.toArray(), what).toEqual(await expected.toArray());
}

const iota = (dims: number[]) => new Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => i), dims);

/** Odd shapes of rank 1..5 with sizes 1, 3, 7, 97 (small enough for SwiftShader). */
const SHAPES = [[97], [7, 3], [3, 1, 97], [1, 7, 3, 5], [3, 2, 1, 7, 3]];

/** A seeded permutation of 0..r-1. */
function randPerm(r: number, seed: number): number[] {
  const g = rng(seed);
  const p = [...Array(r).keys()];
  for (let i = r - 1; i > 0; i--) {
    const j = Math.floor(g() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** ONNX Slice cases on x [10] = 0..9, expected values from Python's a[s:e:step] (same clamping rules). */
const SLICE_1D: [number, number, number, number[]][] = [
  [-3, INT_MAX, 1, [7, 8, 9]],
  [8, 1, -3, [8, 5, 2]],
  [INT_MAX, INT_MIN, -1, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
  [-100, 3, 1, [0, 1, 2]],
  [2, 100, 2, [2, 4, 6, 8]],
  [-1, -11, -2, [9, 7, 5, 3, 1]],
  [5, 5, 1, []],
  [3, 1, 1, []],
  [9, -1, -1, []], // end -1 means len − 1, not "before 0"
  [20, -20, -4, [9, 5, 1]],
  [-2, -100, -1, [8, 7, 6, 5, 4, 3, 2, 1, 0]],
  [0, -1, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8]],
  [0, Number.MAX_SAFE_INTEGER, 3, [0, 3, 6, 9]], // INT64_MAX arrives as a large double
  [-100, INT_MIN, -1, [0]], // ONNX clamps a backward start to [0, len − 1] (numpy would give [])
];

describe('cpu layout reference: golden cases', () => {
  it('transpose (2, 3) → (3, 2)', async () => {
    expect(await cpu.transpose(iota([2, 3]), [1, 0]).toArray()).toEqual([0, 3, 1, 4, 2, 5]);
  });
  it('transpose (2, 3, 2) by [2, 0, 1]', async () => {
    // y[k, i, j] = x[i, j, k], x[i, j, k] = 6i + 2j + k
    const y = cpu.transpose(iota([2, 3, 2]), [2, 0, 1]);
    expect(y.dims).toEqual([2, 2, 3]);
    expect(await y.toArray()).toEqual([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11]);
  });
  for (const [s, e, step, want] of SLICE_1D) {
    it(`slice [0..9][${s}:${e}:${step}]`, async () => {
      expect(await cpu.slice(iota([10]), [s], [e], [0], [step]).toArray()).toEqual(want);
    });
  }
  it('slice of two axes with a negative axis and a negative step', async () => {
    // x (3, 4) = 0..11; rows 2,1 (step −1 from −1 to 0 exclusive); cols 1..3
    const y = cpu.slice(iota([3, 4]), [-1, 1], [0, INT_MAX], [0, -1], [-1, 1]);
    expect(y.dims).toEqual([2, 3]);
    expect(await y.toArray()).toEqual([9, 10, 11, 5, 6, 7]);
  });
  it('expand (3, 1) to (2, 1, 4) — rank increase and a target that broadcasts back', async () => {
    const y = cpu.expand(iota([3, 1]), [2, 1, 4]);
    expect(y.dims).toEqual([2, 3, 4]);
    expect(await y.toArray()).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  });
  it('concat along axis 1 with an empty input', async () => {
    const y = cpu.concat([iota([2, 1]), new Tensor('float32', [], [2, 0]), iota([2, 2])], 1);
    expect(y.dims).toEqual([2, 3]);
    expect(await y.toArray()).toEqual([0, 0, 1, 1, 2, 3]);
  });
  it('sliceBackward writes dy into zeros', async () => {
    const dx = cpu.sliceBackward(new Tensor('float32', [1, 2], [2]), [5], [3], [0], [0], [-2]);
    expect(await dx.toArray()).toEqual([0, 2, 0, 1, 0]);
  });
});

describe('cpu layout reference: properties', () => {
  it('transpose by a perm then by its inverse is the identity, for every dtype', async () => {
    for (const dtype of ['float32', 'int32', 'bool', 'float16', 'int8', 'uint8', 'int4'] as DType[]) {
      const x = rand(dtype, [3, 2, 1, 7, 3], 5);
      const p = [3, 0, 4, 2, 1];
      const inv = p.map((_, i) => p.indexOf(i));
      await expectSame(cpu.transpose(cpu.transpose(x, p), inv), x, dtype);
    }
  });
  it('concat of the slices along an axis gives x back', async () => {
    const x = rand('int32', [3, 7, 5], 2);
    const parts = [[0, 2], [2, 2], [2, 7]].map(([s, e]) => cpu.slice(x, [s], [e], [1]));
    await expectSame(cpu.concat(parts, 1), x, 'concat(slices)');
  });
  it('reshape shares the host array', () => {
    const x = randn([3, 4], 1);
    const y = cpu.reshape(x, [2, 6]);
    expect(y.hostData()).toBe(x.hostData());
  });
});

describe('cpu layout reference: errors name the shapes', () => {
  it('transpose perm', () => {
    expect(() => cpu.transpose(randn([2, 3], 1), [0, 0])).toThrow(/transpose of \[2, 3\]: perm \[0, 0\] is not a permutation/);
    expect(() => cpu.transpose(randn([2, 3], 1), [1, 0, 2])).toThrow(/perm \[1, 0, 2\]/);
  });
  it('slice arguments', () => {
    const x = randn([4, 5], 1);
    expect(() => cpu.slice(x, [0], [1], [0], [0])).toThrow(/slice of \[4, 5\]: step 0 on axis 0/);
    expect(() => cpu.slice(x, [0, 0], [1, 1], [1, -1])).toThrow(/axis 1 is sliced twice/);
    expect(() => cpu.slice(x, [0], [1, 2], [0])).toThrow(/one entry each/);
    expect(() => cpu.slice(x, [0], [1], [2])).toThrow(/slice of \[4, 5\]: axis 2 is out of range for rank 2/);
  });
  it('sliceBackward dy shape', () => {
    expect(() => cpu.sliceBackward(randn([3], 1), [5], [0], [2], [0])).toThrow(/dy is \[3\], but the slice of \[5\] is \[2\]/);
  });
  it('expand, concat, reshape', () => {
    expect(() => cpu.expand(randn([3, 2], 1), [4, 2])).toThrow(/expand \[3, 2\] to \[4, 2\].*do not broadcast/);
    expect(() => cpu.concat([randn([2, 3], 1), randn([3, 3], 2)], 1)).toThrow(/concat along axis 1: input 1 is \[3, 3\], expected \[2, \*\]/);
    expect(() => cpu.concat([randn([2], 1), new Tensor('int32', [1], [1])], 0)).toThrow(/input 1 is int32 \[1\], input 0 is float32/);
    expect(() => cpu.reshape(randn([2, 3], 1), [4, 2])).toThrow(/cannot view \[2, 3\] \(6 elements\) as \[4, 2\] \(8 elements\)/);
  });
});

describe('cpu sliceBackward vs central differences', () => {
  const cases: [number[], number[], number[], number[], number[]][] = [
    [[4, 5], [1, -1], [INT_MAX, 0], [0, 1], [2, -2]], // step 2 on rows, reversed cols
    [[3, 2, 7], [0, 6], [3, 1], [0, 2], [1, -3]],
  ];
  for (const [xDims, starts, ends, axes, steps] of cases) {
    it(`${JSON.stringify(xDims)} starts ${JSON.stringify(starts)} steps ${JSON.stringify(steps)}`, () => {
      const x = randn(xDims, 3);
      const yDims = cpu.slice(x, starts, ends, axes, steps).dims;
      const w = randn(yDims, 4).hostData<Float32Array>();
      const analytic = cpu.sliceBackward(new Tensor('float32', w, yDims), xDims, starts, ends, axes, steps).hostData<Float32Array>();
      const numeric = numericGrad(([t]) => cpu.slice(t, starts, ends, axes, steps), [x], 0, w, 1e-2);
      // A linear op: central differences are exact up to float32 rounding of x ± eps.
      expect(gradError(analytic, numeric)).toBeLessThan(1e-4);
    });
  }
});

describe.skipIf(!hasWebGpu)('webgpu transpose vs cpu', () => {
  for (const dims of SHAPES) {
    const r = dims.length;
    const perms = [[...Array(r).keys()], [...Array(r).keys()].reverse(), randPerm(r, r * 7 + 1)];
    for (const perm of perms) {
      it(`${JSON.stringify(dims)} by ${JSON.stringify(perm)}`, async () => {
        const g = await gpu();
        const x = rand('float32', dims, r);
        await expectSame(g.transpose(g.upload(x), perm), cpu.transpose(x, perm), 'transpose');
      });
    }
  }
  // Batched 2-D transposes after merging: (97, 131) → (131, 97), (3, 40, 33) → (3, 33, 40),
  // (3, 7, 97) → (97, 21); (2, 5) is below the tiled kernel's minimum and stays plain.
  for (const [dims, perm] of [[[97, 131], [1, 0]], [[3, 40, 33], [0, 2, 1]], [[2, 5], [1, 0]], [[3, 7, 97], [2, 0, 1]]] as const) {
    it(`2-D transpose ${JSON.stringify(dims)} by ${JSON.stringify(perm)}: tiled, plain and the backend's pick agree`, async () => {
      const g = await gpu();
      const x = rand('int32', dims, 9);
      const want = cpu.transpose(x, perm);
      await expectSame(g.transpose(g.upload(x), perm), want, 'auto');
      for (const kernel of ['tiled', 'plain'] as const) {
        const y = g.zeros('int32', want.dims);
        copyStrided(g.ctx, transposePlan(dims, perm), gpuStorage(g.upload(x)).buffer, gpuStorage(y).buffer, 'int32', 'test', kernel);
        await expectSame(y, want, kernel);
      }
    });
  }
  for (const dtype of ['int32', 'bool', 'float16', 'int8', 'uint8', 'int4'] as DType[]) {
    it(`${dtype} (packed dtypes word by word)`, async () => {
      const g = await gpu();
      const x = rand(dtype, [3, 7, 5], 11);
      await expectSame(g.transpose(g.upload(x), [2, 0, 1]), cpu.transpose(x, [2, 0, 1]), dtype);
    });
  }
  it('rank 8 after merging runs every level of the index math; rank 9 is a clear error', async () => {
    const g = await gpu();
    const x = rand('float32', [2, 3, 2, 3, 2, 3, 2, 3], 8);
    const rev = [7, 6, 5, 4, 3, 2, 1, 0];
    await expectSame(g.transpose(g.upload(x), rev), cpu.transpose(x, rev), 'rank 8');
    const nine = rand('float32', [2, 3, 2, 3, 2, 3, 2, 3, 2], 9);
    expect(() => g.transpose(nine, [8, 7, 6, 5, 4, 3, 2, 1, 0])).toThrow(/still has 9 dims after merging contiguous ones; the kernel takes at most 8/);
  });
  it('a host input is uploaded; a scalar-like [1, 1] works', async () => {
    const g = await gpu();
    const x = rand('float32', [1, 1], 3);
    await expectSame(g.transpose(x, [1, 0]), x, 'host [1, 1]');
  });
});

describe.skipIf(!hasWebGpu)('webgpu slice and sliceBackward vs cpu', () => {
  for (const [s, e, step] of SLICE_1D) {
    it(`[0..9][${s}:${e}:${step}]`, async () => {
      const g = await gpu();
      const x = rand('float32', [10], 1);
      await expectSame(g.slice(g.upload(x), [s], [e], [0], [step]), cpu.slice(x, [s], [e], [0], [step]), 'slice');
    });
  }
  const cases: [number[], number[], number[], number[], number[]][] = [
    [[7, 97], [1, -50], [6, INT_MAX], [0, 1], [2, 3]],
    [[3, 1, 97], [2, 96], [INT_MIN, -98], [0, -1], [-1, -5]],
    [[1, 7, 3, 5], [-2], [1], [1], [-1]],
    [[3, 2, 1, 7, 3], [0, 5, 1], [INT_MAX, 1, 3], [0, 3, 4], [2, -2, 1]],
    [[7, 3], [5], [5], [0], [1]], // empty
  ];
  for (const [dims, starts, ends, axes, steps] of cases) {
    it(`${JSON.stringify(dims)} starts ${JSON.stringify(starts)} ends ${JSON.stringify(ends)} axes ${JSON.stringify(axes)} steps ${JSON.stringify(steps)}`, async () => {
      const g = await gpu();
      const x = rand('float32', dims, dims.length);
      const want = cpu.slice(x, starts, ends, axes, steps);
      await expectSame(g.slice(g.upload(x), starts, ends, axes, steps), want, 'slice');
      const dy = rand('float32', want.dims, 5);
      await expectSame(g.sliceBackward(g.upload(dy), dims, starts, ends, axes, steps), cpu.sliceBackward(dy, dims, starts, ends, axes, steps), 'sliceBackward');
    });
  }
  it('sliceBackward covering all of x (full reversal) needs no zero fill', async () => {
    const g = await gpu();
    const dy = rand('float32', [3, 7], 2);
    const args = [[3, 7], [INT_MAX], [INT_MIN], [1], [-1]] as const;
    await expectSame(g.sliceBackward(g.upload(dy), ...args), cpu.sliceBackward(dy, ...args), 'reversal');
  });
  for (const dtype of ['float16', 'uint8', 'int4', 'bool'] as DType[]) {
    it(`slice of ${dtype} with a negative step`, async () => {
      const g = await gpu();
      const x = rand(dtype, [5, 13], 4);
      await expectSame(g.slice(g.upload(x), [4, -2], [0, 0], [0, 1], [-2, -3]), cpu.slice(x, [4, -2], [0, 0], [0, 1], [-2, -3]), dtype);
    });
  }
  it('errors name the shapes', async () => {
    const g = await gpu();
    expect(() => g.slice(randn([4, 5], 1), [0], [1], [0], [0])).toThrow(/slice of \[4, 5\]: step 0 on axis 0/);
    expect(() => g.sliceBackward(randn([3], 1), [5], [0], [2], [0])).toThrow(/dy is \[3\], but the slice of \[5\] is \[2\]/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu expand and concat vs cpu', () => {
  const expands: [number[], number[]][] = [
    [[97], [3, 97]],
    [[7, 1], [3, 1, 97]], // rank increase; the target's 1 broadcasts back to 7
    [[1, 3, 1], [7, 1, 3, 5]],
    [[3, 2, 1, 7, 1], [3, 2, 3, 7, 3]],
    [[1], [1]],
  ];
  for (const [xDims, dims] of expands) {
    it(`expand ${JSON.stringify(xDims)} to ${JSON.stringify(dims)}`, async () => {
      const g = await gpu();
      const x = rand('float32', xDims, 3);
      await expectSame(g.expand(g.upload(x), dims), cpu.expand(x, dims), 'expand');
    });
  }
  it('expand of float16 and int8', async () => {
    const g = await gpu();
    for (const dtype of ['float16', 'int8'] as DType[]) {
      const x = rand(dtype, [3, 1], 6);
      await expectSame(g.expand(g.upload(x), [2, 3, 7]), cpu.expand(x, [2, 3, 7]), dtype);
    }
  });
  for (const dims of [[3, 7, 5], [1, 97], [3, 2, 1, 7]]) {
    for (let axis = 0; axis < dims.length; axis++) {
      it(`concat ${JSON.stringify(dims)} along axis ${axis} with an empty input`, async () => {
        const g = await gpu();
        const sized = (n: number) => dims.map((d, i) => (i === axis ? n : d));
        const xs = [rand('float32', sized(2), 1), rand('float32', sized(0), 2), rand('float32', sized(dims[axis]), 3), rand('float32', sized(1), 4)];
        await expectSame(g.concat(xs.map((x) => g.upload(x)), axis), cpu.concat(xs, axis), 'concat');
      });
    }
  }
  it('concat of int32 along a negative axis; packed dtypes say cast first', async () => {
    const g = await gpu();
    const xs = [rand('int32', [3, 5], 1), rand('int32', [3, 7], 2)];
    await expectSame(g.concat(xs.map((x) => g.upload(x)), -1), cpu.concat(xs, -1), 'int32');
    const hs = [rand('float16', [3], 1), rand('float16', [5], 2)];
    expect(() => g.concat(hs, 0)).toThrow(/concat: float16 inputs \(\[3\], \[5\]\) are packed.*cast to float32/);
    const one = [rand('float16', [3], 1), rand('float16', [0], 2)];
    await expectSame(g.concat(one, 0), cpu.concat(one, 0), 'one non-empty float16');
  });
  it('errors name the shapes', async () => {
    const g = await gpu();
    expect(() => g.expand(randn([3, 2], 1), [4, 2])).toThrow(/expand \[3, 2\] to \[4, 2\].*do not broadcast/);
    expect(() => g.concat([randn([2, 3], 1), randn([3, 3], 2)], 1)).toThrow(/input 1 is \[3, 3\], expected \[2, \*\]/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu reshape', () => {
  it('shares the buffer without a copy and survives disposal of the original', async () => {
    const g = await gpu();
    const x = g.upload(rand('float32', [3, 7, 5], 1));
    const want = await x.toArray();
    const live0 = g.ctx.pool.snapshot().liveBytes;
    const y = g.reshape(x, [21, 5]);
    const z = g.reshape(y, [105]);
    expect(gpuStorage(y).buffer).toBe(gpuStorage(x).buffer);
    expect(gpuStorage(z).buffer).toBe(gpuStorage(x).buffer);
    expect(g.ctx.pool.snapshot().liveBytes).toBe(live0); // nothing allocated
    x.dispose();
    y.dispose();
    // The buffer must still be held: a fresh allocation of the same size must not get it.
    const other = g.upload(rand('float32', [3, 7, 5], 2));
    expect(gpuStorage(other).buffer).not.toBe(gpuStorage(z).buffer);
    expect(z.dims).toEqual([105]);
    expect(await z.toArray()).toEqual(want);
    const size = gpuStorage(z).buffer.size;
    z.dispose();
    expect(g.ctx.pool.snapshot().liveBytes).toBe(live0 + gpuStorage(other).buffer.size - size); // released once, on the last view
    other.dispose();
  });
  it('a transpose of a reshape reads the shared buffer', async () => {
    const g = await gpu();
    const x = rand('float32', [6, 7], 3);
    const y = g.transpose(g.reshape(g.upload(x), [2, 3, 7]), [2, 0, 1]);
    await expectSame(y, cpu.transpose(cpu.reshape(x, [2, 3, 7]), [2, 0, 1]), 'transpose(reshape)');
  });
  it('uploads a host tensor once; errors name the shapes', async () => {
    const g = await gpu();
    const x = rand('int32', [2, 6], 4);
    const y = g.reshape(x, [3, 4]);
    expect(y.location).toBe('webgpu');
    await expectSame(y, cpu.reshape(x, [3, 4]), 'host reshape');
    expect(() => g.reshape(x, [5, 2])).toThrow(/cannot view \[2, 6\] \(12 elements\) as \[5, 2\] \(10 elements\)/);
  });
});
