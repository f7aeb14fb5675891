import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor, type DType } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectClose, randInt, randn } from '../helpers/numeric.js';
import { nodeModel, runOnnx } from '../helpers/onnxModel.js';

const cpu = new CpuBackend();
const FLAGS = [[false, false], [true, false], [false, true], [true, true]] as const;
const flagName = (ex: boolean, rev: boolean) => `${ex ? 'exclusive' : 'inclusive'}${rev ? ' reverse' : ''}`;

function input(dtype: DType, dims: number[], seed: number): Tensor {
  return dtype === 'float32' ? randn(dims, seed) : randInt(dims, seed, -50, 50);
}

describe('cpu cumsum: golden cases', () => {
  const x = new Tensor('float32', [1, 2, 3, 4, 5, 6], [2, 3]);
  const cases: [number, boolean, boolean, number[]][] = [
    [1, false, false, [1, 3, 6, 4, 9, 15]],
    [1, true, false, [0, 1, 3, 0, 4, 9]],
    [1, false, true, [6, 5, 3, 15, 11, 6]],
    [1, true, true, [5, 3, 0, 11, 6, 0]],
    [0, false, false, [1, 2, 3, 5, 7, 9]],
    [-2, true, true, [4, 5, 6, 0, 0, 0]],
  ];
  for (const [axis, ex, rev, want] of cases) {
    it(`axis ${axis} ${flagName(ex, rev)}`, async () => {
      expect(await cpu.cumsum(x, axis, ex, rev).toArray()).toEqual(want);
    });
  }
  it('int32 wraps like the device; int64 stays int64', async () => {
    expect(await cpu.cumsum(new Tensor('int32', [2147483647, 1, 1], [3]), 0, false, false).toArray()).toEqual([2147483647, -2147483648, -2147483647]);
    const y = cpu.cumsum(new Tensor('int64', [1n, 1n, 0n, 1n], [1, 4]), -1, false, false);
    expect(y.dtype).toBe('int64');
    expect(await y.toArray()).toEqual([1, 2, 2, 3]);
  });
  it('rejects bad dtypes, scalars and axes', () => {
    expect(() => cpu.cumsum(new Tensor('uint8', [1], [1]), 0, false, false)).toThrow(/cumsum: x must be float32 or int32/);
    expect(() => cpu.cumsum(new Tensor('float32', [1], []), 0, false, false)).toThrow(/rank ≥ 1/);
    expect(() => cpu.cumsum(x, 2, false, false)).toThrow(/axis 2 is out of range for rank 2/);
  });
});

describe('cpu cumsum vs onnxruntime-web', () => {
  for (const dtype of ['float32', 'int32'] as const) {
    for (const [dims, axis] of [[[5, 7], 1], [[3, 4, 6], 0], [[2, 9, 3], -2]] as [number[], number][]) {
      for (const [ex, rev] of FLAGS) {
        it(`${dtype} ${JSON.stringify(dims)} axis ${axis} ${flagName(ex, rev)}`, async () => {
          const x = input(dtype, dims, 7 + dims.length + axis);
          const model = nodeModel({
            opType: 'CumSum', inputs: { x }, initializers: { axis: new Tensor('int32', [axis], []) },
            outputs: { y: dtype }, attributes: { exclusive: ex ? 1 : 0, reverse: rev ? 1 : 0 },
          });
          const { y } = await runOnnx(model, { x });
          // onnxruntime adds in float32 in scan order, the reference in float64: ≤ a few ulps of the sum.
          await expectClose(cpu.cumsum(x, axis, ex, rev), y, { atol: 2e-6, rtol: 1e-6 }, 'cumsum');
        });
      }
    }
  }
});

describe.skipIf(!hasWebGpu)('webgpu cumsum vs cpu', () => {
  // Odd sizes on every axis: `lines` (inner > 1 or short rows) and `rows` (contiguous lines
  // ≥ 32: 131 is one partial chunk, 600 and 2053 several chunks with a carry).
  const shapes: number[][] = [[1], [257], [3, 97], [2, 5, 131], [3, 600], [1, 2053], [37, 5]];
  for (const dims of shapes) {
    for (let axis = 0; axis < dims.length; axis++) {
      for (const [ex, rev] of FLAGS) {
        for (const dtype of ['float32', 'int32'] as const) {
          it(`${dtype} ${JSON.stringify(dims)} axis ${axis} ${flagName(ex, rev)}`, async () => {
            const g = await gpu();
            const x = input(dtype, dims, 31 + axis + dims[dims.length - 1]);
            // float32 partial sums of ±1 values over ≤ 2053 steps: the device adds in f32
            // (tree order in `rows`), the reference in f64; |sums| stay below ~60, so a few
            // ulps of 60 (≈4e-6 each) bound the difference. int32 is exact.
            const tol = dtype === 'float32' ? { atol: 3e-5, rtol: 1e-5 } : { atol: 0, rtol: 0 };
            await expectClose(g.cumsum(g.upload(x), axis, ex, rev), cpu.cumsum(x, axis, ex, rev), tol, 'cumsum');
          });
        }
      }
    }
  }
  it('int32 wraps, int64 host input arrives as int32, empty tensors pass', async () => {
    const g = await gpu();
    const wrap = g.cumsum(new Tensor('int32', [2147483647, 1, 1], [3]), 0, false, false);
    expect(await wrap.toArray()).toEqual([2147483647, -2147483648, -2147483647]);
    const pos = g.cumsum(new Tensor('int64', [1n, 1n, 0n, 1n], [1, 4]), -1, true, false);
    expect(pos.dtype).toBe('int32');
    expect(await pos.toArray()).toEqual([0, 1, 2, 2]);
    expect(g.cumsum(g.upload(randn([0, 3], 1)), 1, false, false).dims).toEqual([0, 3]);
    expect(() => g.cumsum(new Tensor('uint8', [1], [1]), 0, false, false)).toThrow(/cumsum: x must be float32 or int32/);
  });
});
