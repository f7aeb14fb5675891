/** Gradient rules for layout ops: central differences on cpu, webgpu equal to cpu. */
import { describe, expect, it } from 'vitest';
import { GRAD_RULES } from '../../../src/graph/autodiff/rules/index.js';
import { CpuBackend } from '../../../src/tensor/cpu/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { checkRule } from '../../helpers/gradRule.js';
import { gpu, hasWebGpu } from '../../helpers/gpu.js';
import { randn } from '../../helpers/numeric.js';

const dev = async () => (hasWebGpu ? gpu() : undefined);
/** Host int64 (shapes, axes, starts, indices); bigint entries for values a double cannot hold (INT64_MAX). */
const int64 = (v: (number | bigint)[], dims: number[] = [v.length]) => new Tensor('int64', BigInt64Array.from(v, (x) => BigInt(x)), dims);
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const x357 = () => randn([3, 5, 7], 1);

describe('reshape family', () => {
  it('Reshape (3, 5, 7) → (0, -1)', async () => {
    await checkRule({ opType: 'Reshape', inputs: [x357(), int64([0, -1])], wrt: [0] }, await dev());
  });
  it('Flatten (3, 5, 7) at axis 2 and at axis -1', async () => {
    await checkRule({ opType: 'Flatten', attrs: { axis: 2 }, inputs: [x357()], wrt: [0] }, await dev());
    await checkRule({ opType: 'Flatten', attrs: { axis: -1 }, inputs: [x357()], wrt: [0] }, await dev());
  });
  it('Unsqueeze (3, 5, 7) at axes (-1, 0), as an input and as an attribute (opset 11)', async () => {
    await checkRule({ opType: 'Unsqueeze', inputs: [x357(), int64([-1, 0])], wrt: [0] }, await dev());
    await checkRule({ opType: 'Unsqueeze', opset: 11, attrs: { axes: [1] }, inputs: [x357()], wrt: [0] }, await dev());
  });
  it('Squeeze (3, 1, 7, 1) at axis 1, and every size-1 axis', async () => {
    const x = randn([3, 1, 7, 1], 2);
    await checkRule({ opType: 'Squeeze', inputs: [x, int64([1])], wrt: [0] }, await dev());
    await checkRule({ opType: 'Squeeze', inputs: [x], wrt: [0] }, await dev());
  });
});

describe('Transpose', () => {
  it('perm (2, 0, 1) on (3, 5, 7)', async () => {
    await checkRule({ opType: 'Transpose', attrs: { perm: [2, 0, 1] }, inputs: [x357()], wrt: [0] }, await dev());
  });
  it('the default perm reverses the axes', async () => {
    await checkRule({ opType: 'Transpose', inputs: [randn([2, 3, 5, 7], 3)], wrt: [0] }, await dev());
  });
});

describe('Concat', () => {
  const xs = () => [randn([3, 2, 7], 4), randn([3, 5, 7], 5), randn([3, 1, 7], 6)];
  it('3 inputs along the middle axis', async () => {
    await checkRule({ opType: 'Concat', attrs: { axis: 1 }, inputs: xs(), wrt: [0, 1, 2] }, await dev());
  });
  it('axis -2, only the middle input wanted', async () => {
    await checkRule({ opType: 'Concat', attrs: { axis: -2 }, inputs: xs(), wrt: [1] }, await dev());
  });
});

describe('Split', () => {
  const x = () => randn([3, 7, 5], 7);
  it('unequal parts (2, 4, 1) along axis 1, the middle output unused', async () => {
    await checkRule({ opType: 'Split', attrs: { axis: 1 }, inputs: [x(), int64([2, 4, 1])], outputCount: 3, unusedOutputs: [1], wrt: [0] }, await dev());
  });
  it('unequal parts along axis -1, every output used', async () => {
    await checkRule({ opType: 'Split', attrs: { axis: -1 }, inputs: [x(), int64([3, 2])], outputCount: 2, wrt: [0] }, await dev());
  });
  it('num_outputs 3 over a length of 7 (parts 3, 3, 1), the first output unused', async () => {
    await checkRule({ opType: 'Split', opset: 18, attrs: { axis: 1, num_outputs: 3 }, inputs: [x()], outputCount: 3, unusedOutputs: [0], wrt: [0] }, await dev());
  });
  it('equal parts by output count (opset 13), and sizes as an attribute (opset 11)', async () => {
    await checkRule({ opType: 'Split', opset: 13, attrs: { axis: 0 }, inputs: [x()], outputCount: 3, unusedOutputs: [2], wrt: [0] }, await dev());
    await checkRule({ opType: 'Split', opset: 11, attrs: { axis: 2, split: [1, 4] }, inputs: [x()], outputCount: 2, unusedOutputs: [0], wrt: [0] }, await dev());
  });
});

describe('Slice', () => {
  it('negative steps and clamped ends: axes (1, 2), starts (-1, 1), ends (INT64_MIN, 100), steps (-2, 3)', async () => {
    const inputs = [x357(), int64([-1, 1]), int64([INT64_MIN, 100]), int64([1, 2]), int64([-2, 3])];
    await checkRule({ opType: 'Slice', inputs, wrt: [0] }, await dev());
  });
  it('reversal of axis -1 to the start, and an INT64_MAX end on axis 0', async () => {
    const inputs = [x357(), int64([INT64_MAX, 1]), int64([INT64_MIN, INT64_MAX]), int64([-1, 0]), int64([-1, 1])];
    await checkRule({ opType: 'Slice', inputs, wrt: [0] }, await dev());
  });
  it('default axes and steps', async () => {
    await checkRule({ opType: 'Slice', inputs: [x357(), int64([1, -4]), int64([3, -1])], wrt: [0] }, await dev());
  });
  it('starts / ends / axes as attributes (opset 9)', async () => {
    await checkRule({ opType: 'Slice', opset: 9, attrs: { starts: [2], ends: [-1], axes: [2] }, inputs: [x357()], wrt: [0] }, await dev());
  });
});

describe('Expand', () => {
  it('(5, 1, 7) to (2, 1, 5, 4, 7)', async () => {
    await checkRule({ opType: 'Expand', inputs: [randn([5, 1, 7], 8), int64([2, 1, 5, 4, 7])], wrt: [0] }, await dev());
  });
  it('a target that broadcasts against the input: (3, 5, 7) by (1)', async () => {
    await checkRule({ opType: 'Expand', inputs: [x357(), int64([1])], wrt: [0] }, await dev());
  });
});

describe('Gather', () => {
  it('axis 1 with repeated and negative int64 indices (gradients accumulate)', async () => {
    const idx = int64([0, 4, 4, -1, 2, 4], [2, 3]);
    await checkRule({ opType: 'Gather', attrs: { axis: 1 }, inputs: [x357(), idx], wrt: [0] }, await dev());
  });
  it('axis -1 with int32 indices', async () => {
    const idx = new Tensor('int32', Int32Array.from([6, 0, 6, 3]), [4]);
    await checkRule({ opType: 'Gather', attrs: { axis: -1 }, inputs: [x357(), idx], wrt: [0] }, await dev());
  });
  it('a scalar index on axis 0', async () => {
    await checkRule({ opType: 'Gather', inputs: [x357(), int64([2], [])], wrt: [0] }, await dev());
  });
});

describe('Tile', () => {
  it('(3, 5, 7) by repeats (2, 1, 3)', async () => {
    await checkRule({ opType: 'Tile', inputs: [x357(), int64([2, 1, 3])], wrt: [0] }, await dev());
  });
  it('(4, 3) by (1, 5) and by (3, 2)', async () => {
    await checkRule({ opType: 'Tile', inputs: [randn([4, 3], 9), int64([1, 5])], wrt: [0] }, await dev());
    await checkRule({ opType: 'Tile', inputs: [randn([4, 3], 10), int64([3, 2])], wrt: [0] }, await dev());
  });
});

describe('non-differentiable inputs', () => {
  const cpu = new CpuBackend();
  const call = (opType: string, inputs: Tensor[], dy: Tensor, attrs = {}) =>
    GRAD_RULES[opType].grad(
      {
        backend: cpu, where: `${opType} node 'test'`, attrs, opset: 21, outputCount: 1,
        inputs, inputDims: inputs.map((t) => t.dims), outputs: [undefined], dOutputs: [dy], wants: inputs.map(() => true),
      },
      (t) => t,
    );
  it('indices, shapes and repeats get no gradient even when asked for', () => {
    const x = randn([3, 5], 11);
    expect(call('Gather', [x, int64([1, 1])], randn([2, 5], 12))[1]).toBeUndefined();
    expect(call('Reshape', [x, int64([5, 3])], randn([5, 3], 13))[1]).toBeUndefined();
    expect(call('Expand', [x, int64([2, 3, 5])], randn([2, 3, 5], 14))[1]).toBeUndefined();
    expect(call('Tile', [x, int64([2, 1])], randn([6, 5], 15))[1]).toBeUndefined();
    expect(call('Slice', [x, int64([1]), int64([3])], randn([2, 5], 16))[1]).toBeUndefined();
  });
  it('no gradient reaching the output gives none for the input', () => {
    const x = randn([3, 5], 11);
    const r = GRAD_RULES.Transpose.grad(
      { backend: cpu, where: 't', attrs: {}, opset: 21, outputCount: 1, inputs: [x], inputDims: [x.dims], outputs: [undefined], dOutputs: [undefined], wants: [true] },
      (t) => t,
    );
    expect(r[0]).toBeUndefined();
  });
});
