import { describe, expect, it } from 'vitest';
import { HOST_OPS, reshapeDims, sliceRange } from '../../src/graph/fold/hostOps.js';
import { fromHostTensor, toTensor, type HostValue } from '../../src/graph/fold/values.js';
import { Tensor } from '../../src/tensor/tensor.js';

const i64 = (values: number[], dims = [values.length]): HostValue => ({ dtype: 'int64', dims, values });
const run = (op: string, ins: (HostValue | undefined)[], attrs = {}, opset = 17) => HOST_OPS[op](ins, attrs, opset)[0];

describe('host constant folding (ONNX shape chains)', () => {
  it('Shape → Gather → Unsqueeze → Concat → Reshape, as exporters emit', () => {
    const x: HostValue = { dtype: 'float32', dims: [2, 7, 32], values: new Array(448).fill(0) };
    const shape = run('Shape', [x]);
    expect(shape).toEqual(i64([2, 7, 32]));
    const b = run('Gather', [shape, i64([0], [])], { axis: 0 });
    expect(b.dims).toEqual([]);
    const bu = run('Unsqueeze', [b, i64([0])]);
    const target = run('Concat', [bu, i64([7]), i64([4]), i64([8])], { axis: 0 });
    expect(target.values).toEqual([2, 7, 4, 8]);
    expect(run('Reshape', [x, i64([0, -1, 4, 8])]).dims).toEqual([2, 7, 4, 8]);
  });

  it('Slice follows ONNX clamping and negative steps', () => {
    expect(sliceRange(0, 9.2e18, 1, 5)).toEqual([0, 5, 1]);
    expect(sliceRange(-1, -9.2e18, -1, 5)).toEqual([4, 5, -1]);
    expect(sliceRange(1, 3, 2, 5)).toEqual([1, 1, 2]);
    const x = i64([0, 1, 2, 3, 4, 5], [2, 3]);
    expect(run('Slice', [x, i64([0, -1]), i64([1, -4]), i64([0, 1]), i64([1, -1])]).values).toEqual([2, 1, 0]);
  });

  it('integer Div truncates toward zero; Where keeps the value dtype', () => {
    expect(run('Div', [i64([7, -7]), i64([2])]).values).toEqual([3, -3]);
    const c: HostValue = { dtype: 'bool', dims: [2], values: [1, 0] };
    const w = run('Where', [c, i64([5, 5]), i64([9, 9])]);
    expect(w).toEqual(i64([5, 9]));
  });

  it('Reshape rules: 0 copies, -1 infers, bad targets name both shapes', () => {
    expect(reshapeDims([2, 3, 4], [0, -1])).toEqual([2, 12]);
    expect(() => reshapeDims([2, 3], [4, -1])).toThrow(/\[2, 3\] to \[4, -1\]/);
    expect(() => reshapeDims([6], [-1, -1])).toThrow(/more than one -1/);
  });

  it('Expand broadcasts both ways, Range and ConstantOfShape make new tensors', () => {
    expect(run('Expand', [i64([1, 2], [2, 1]), i64([1, 3])]).dims).toEqual([2, 3]);
    expect(run('Range', [i64([2], []), i64([9], []), i64([3], [])]).values).toEqual([2, 5, 8]);
    const z = run('ConstantOfShape', [i64([2, 2])], { value: new Tensor('int64', [1n], [1]) });
    expect(z).toEqual(i64([1, 1, 1, 1], [2, 2]));
  });

  it('round-trips int64 tensors, including INT64_MAX sentinels', () => {
    const t = new Tensor('int64', [3n, 9223372036854775807n], [2]);
    const v = fromHostTensor(t);
    expect(v.values[0]).toBe(3);
    expect(toTensor(v).hostData<BigInt64Array>()[1]).toBe(9223372036854775807n);
  });

  it('Gather names the bad index', () => {
    expect(() => run('Gather', [i64([1, 2]), i64([5])], { axis: 0 })).toThrow(/index 5 .* size 2/);
  });
});
