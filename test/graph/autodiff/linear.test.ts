/**
 * Gradient rules for matmuls, softmax, normalizations and reductions
 * (src/graph/autodiff/rules/linear): central differences on cpu, webgpu equal to cpu.
 */
import { describe, it } from 'vitest';
import { Tensor } from '../../../src/tensor/tensor.js';
import { checkRule, type RuleCase } from '../../helpers/gradRule.js';
import { gpu, hasWebGpu } from '../../helpers/gpu.js';
import { randn } from '../../helpers/numeric.js';

const dev = async () => (hasWebGpu ? gpu() : undefined);
const check = async (c: RuleCase) => checkRule(c, await dev());
const int64 = (v: number[]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [v.length]);

/** Distinct values 0.05·k, k a seeded permutation of 0…n−1: no two within the difference step of each other. */
function distinct(dims: number[], seed: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const order = randn([n], seed).hostData<Float32Array>();
  const rank = [...order.keys()].sort((i, j) => order[i] - order[j]);
  const v = new Float32Array(n);
  rank.forEach((i, k) => (v[i] = 0.05 * k - 1));
  return new Tensor('float32', v, dims);
}

describe('MatMul', () => {
  it('(3, 5, 7) · (7, 6): a weight shared over the batch gets a (7, 6) gradient', async () => {
    await check({ opType: 'MatMul', inputs: [randn([3, 5, 7], 1), randn([7, 6], 2)], wrt: [0, 1] });
  });
  it('batched broadcast (2, 1, 4, 5) · (3, 5, 6)', async () => {
    await check({ opType: 'MatMul', inputs: [randn([2, 1, 4, 5], 3), randn([3, 5, 6], 4)], wrt: [0, 1] });
  });
  it('(4, 5) · (3, 5, 6): a 2-D a summed over b’s batch', async () => {
    await check({ opType: 'MatMul', inputs: [randn([4, 5], 5), randn([3, 5, 6], 6)], wrt: [0, 1] });
  });
  it('1-D a: (7) · (7, 4) and (7) · (3, 7, 4)', async () => {
    await check({ opType: 'MatMul', inputs: [randn([7], 7), randn([7, 4], 8)], wrt: [0, 1] });
    await check({ opType: 'MatMul', inputs: [randn([7], 9), randn([3, 7, 4], 10)], wrt: [0, 1] });
  });
  it('1-D b: (5, 3) · (3) and (2, 5, 3) · (3)', async () => {
    await check({ opType: 'MatMul', inputs: [randn([5, 3], 11), randn([3], 12)], wrt: [0, 1] });
    await check({ opType: 'MatMul', inputs: [randn([2, 5, 3], 13), randn([3], 14)], wrt: [0, 1] });
  });
  it('both 1-D: (9) · (9) → scalar', async () => {
    await check({ opType: 'MatMul', inputs: [randn([9], 15), randn([9], 16)], wrt: [0, 1] });
  });
  it('only the wanted input gets a gradient', async () => {
    await check({ opType: 'MatMul', inputs: [randn([2, 3, 5], 17), randn([5, 4], 18)], wrt: [1] });
  });
});

describe('Gemm', () => {
  it('alpha 0.7, C (N) with beta 1 (the fused bias path)', async () => {
    await check({ opType: 'Gemm', attrs: { alpha: 0.7 }, inputs: [randn([4, 6], 20), randn([6, 5], 21), randn([5], 22)], wrt: [0, 1, 2] });
  });
  it('transA, transB, alpha 1.3, beta 0.5, C (M, 1)', async () => {
    const attrs = { transA: 1, transB: 1, alpha: 1.3, beta: 0.5 };
    await check({ opType: 'Gemm', attrs, inputs: [randn([6, 4], 23), randn([5, 6], 24), randn([4, 1], 25)], wrt: [0, 1, 2] });
  });
  it('transA only, C (N) with beta −2', async () => {
    await check({ opType: 'Gemm', attrs: { transA: 1, beta: -2 }, inputs: [randn([3, 7], 26), randn([3, 5], 27), randn([5], 28)], wrt: [0, 1, 2] });
  });
  it('transB only, C (M, N), no C gradient wanted', async () => {
    await check({ opType: 'Gemm', attrs: { transB: 1 }, inputs: [randn([7, 3], 29), randn([5, 3], 30), randn([7, 5], 31)], wrt: [0, 1] });
  });
  it('without C, and beta 0 (C ignored: zero gradient)', async () => {
    await check({ opType: 'Gemm', inputs: [randn([4, 3], 32), randn([3, 2], 33)], wrt: [0, 1] });
    await check({ opType: 'Gemm', attrs: { beta: 0 }, inputs: [randn([4, 3], 34), randn([3, 2], 35), randn([2], 36)], wrt: [0, 1, 2] });
  });
});

describe('Softmax', () => {
  it('axis −1 of (3, 4, 7)', async () => {
    await check({ opType: 'Softmax', inputs: [randn([3, 4, 7], 40, -2, 2)], wrt: [0] });
  });
  it('axis 1 of (3, 4, 5)', async () => {
    await check({ opType: 'Softmax', attrs: { axis: 1 }, inputs: [randn([3, 4, 5], 41, -2, 2)], wrt: [0] });
  });
  it('opset 11: default axis 1 of (4, 6), axis 2 of (2, 3, 5)', async () => {
    await check({ opType: 'Softmax', opset: 11, inputs: [randn([4, 6], 42, -2, 2)], wrt: [0] });
    await check({ opType: 'Softmax', opset: 11, attrs: { axis: 2 }, inputs: [randn([2, 3, 5], 43, -2, 2)], wrt: [0] });
  });
});

describe('LayerNormalization', () => {
  const stats = [1, 2]; // Mean / InvStdDev: the forward always makes them; no gradient flows through them
  it('axis −1 of (3, 4, 6), X, Scale and B', async () => {
    await check({ opType: 'LayerNormalization', unusedOutputs: stats, inputs: [randn([3, 4, 6], 50, -2, 2), randn([6], 51, 0.5, 1.5), randn([6], 52)], wrt: [0, 1, 2] });
  });
  it('axis 1 of (2, 3, 4): Scale and B (3, 4)', async () => {
    await check({
      opType: 'LayerNormalization', attrs: { axis: 1, epsilon: 1e-3 }, outputCount: 3, unusedOutputs: stats,
      inputs: [randn([2, 3, 4], 53, -2, 2), randn([3, 4], 54, 0.5, 1.5), randn([3, 4], 55)], wrt: [0, 1, 2],
    });
  });
  it('only B wanted; no B input', async () => {
    await check({ opType: 'LayerNormalization', unusedOutputs: stats, inputs: [randn([5, 6], 56), randn([6], 57), randn([6], 58)], wrt: [2] });
    await check({ opType: 'LayerNormalization', unusedOutputs: stats, inputs: [randn([5, 6], 59), randn([6], 60)], wrt: [0, 1] });
  });
});

describe('RMSNorm and the Skip norms (com.microsoft)', () => {
  for (const domain of ['com.microsoft', '']) {
    it(`SimplifiedLayerNormalization (domain '${domain}') on (3, 5, 8)`, async () => {
      await check({
        opType: 'SimplifiedLayerNormalization', domain, unusedOutputs: [1],
        inputs: [randn([3, 5, 8], 70, -2, 2), randn([8], 71, 0.5, 1.5)], wrt: [0, 1],
      });
    });
  }
  const skipLN = (seed: number) => [randn([2, 3, 8], seed, -2, 2), randn([2, 3, 8], seed + 1), randn([8], seed + 2, 0.5, 1.5), randn([8], seed + 3), randn([8], seed + 4)];
  it('SkipLayerNormalization with bias, gradient on y and on the sum output', async () => {
    await check({
      opType: 'SkipLayerNormalization', domain: 'com.microsoft', outputCount: 4, unusedOutputs: [1, 2],
      attrs: { epsilon: 1e-5 }, inputs: skipLN(80), wrt: [0, 1, 2, 3, 4],
    });
  });
  it('SkipLayerNormalization: y only, no bias; the sum output only', async () => {
    const [x, skip, gamma, beta] = skipLN(90);
    await check({
      opType: 'SkipLayerNormalization', domain: 'com.microsoft', outputCount: 4, unusedOutputs: [1, 2, 3],
      inputs: [x, skip, gamma, beta], wrt: [0, 1, 2, 3],
    });
    await check({
      opType: 'SkipLayerNormalization', domain: 'com.microsoft', outputCount: 4, unusedOutputs: [0, 1, 2],
      inputs: skipLN(95), wrt: [0, 1, 4],
    });
  });
  it('SkipSimplifiedLayerNormalization with bias, gradient on y and on the sum output', async () => {
    const [x, skip, gamma, , bias] = skipLN(100);
    await check({
      opType: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', outputCount: 4, unusedOutputs: [1, 2],
      inputs: [x, skip, gamma, bias], wrt: [0, 1, 2, 3],
    });
  });
  it('SkipSimplifiedLayerNormalization: only skip and gamma wanted, no bias', async () => {
    const [x, skip, gamma] = skipLN(110);
    await check({
      opType: 'SkipSimplifiedLayerNormalization', domain: 'com.microsoft', outputCount: 4, unusedOutputs: [1, 2],
      inputs: [x, skip, gamma], wrt: [1, 2],
    });
  });
});

describe('reductions', () => {
  const x = () => randn([3, 4, 5], 120);
  it('ReduceSum, axes input [0, 2] (opset 13), keepdims 1 and 0', async () => {
    for (const keepdims of [1, 0]) {
      await check({ opType: 'ReduceSum', opset: 13, attrs: { keepdims }, inputs: [x(), int64([0, 2])], wrt: [0] });
    }
  });
  it('ReduceSum opset 11 (axes attribute [−1]); all axes; noop_with_empty_axes', async () => {
    await check({ opType: 'ReduceSum', opset: 11, attrs: { axes: [-1], keepdims: 0 }, inputs: [x()], wrt: [0] });
    await check({ opType: 'ReduceSum', opset: 13, attrs: { keepdims: 0 }, inputs: [x()], wrt: [0] });
    await check({ opType: 'ReduceSum', opset: 13, attrs: { noop_with_empty_axes: 1 }, inputs: [x(), int64([])], wrt: [0] });
  });
  it('ReduceMean: axes input [1, −1] (opset 18) keepdims 0; attribute axes [0, 2] (opset 13) keepdims 1; all axes', async () => {
    await check({ opType: 'ReduceMean', opset: 18, attrs: { keepdims: 0 }, inputs: [x(), int64([1, -1])], wrt: [0] });
    await check({ opType: 'ReduceMean', opset: 13, attrs: { axes: [0, 2] }, inputs: [x()], wrt: [0] });
    await check({ opType: 'ReduceMean', opset: 13, attrs: { keepdims: 0 }, inputs: [x()], wrt: [0] });
  });
  it('ReduceMax on distinct values: axes input [1, 2] (opset 18) keepdims 0; attribute axes [1] (opset 13) keepdims 1', async () => {
    await check({ opType: 'ReduceMax', opset: 18, attrs: { keepdims: 0 }, inputs: [distinct([3, 4, 5], 121), int64([1, 2])], wrt: [0] });
    await check({ opType: 'ReduceMax', opset: 13, attrs: { axes: [1] }, inputs: [distinct([3, 4, 5], 122)], wrt: [0] });
  });
});
