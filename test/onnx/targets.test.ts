import { describe, expect, it } from 'vitest';
import { findLoraTargets, layerIndex, scopePath, weightPath } from '../../src/graph/targets.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import { DataType, encode, f32, node, tensor, valueInfo, type ModelSpec } from './build.js';

const zeros = (n: number) => new Array<number>(n).fill(0);
const w = (name: string, dims: number[]) => f32(name, dims, zeros(dims[0] * dims[1]));
const io = (inF: number, outF: number) => ({
  inputs: [valueInfo('x', DataType.FLOAT, ['batch', inF])],
  outputs: [valueInfo('y', DataType.FLOAT, ['batch', outF])],
});
const targets = async (spec: ModelSpec) => findLoraTargets(await readOnnxModel(encode(spec), { name: 't.onnx' }));

describe('LoRA targets in hand-built graphs', () => {
  it('MatMul with a direct weight: path from the initializer, stored [in, out]', async () => {
    const [t, ...rest] = await targets({
      ...io(4, 8),
      nodes: [node('MatMul', ['x', 'enc.layers.2.attn.q_proj.weight'], ['h'], 'mm'), node('Relu', ['h'], ['y'], 'act')],
      initializers: [w('enc.layers.2.attn.q_proj.weight', [4, 8])],
    });
    expect(rest).toEqual([]);
    expect(t).toMatchObject({
      path: 'enc.layers.2.attn.q_proj',
      pathSource: 'initializer',
      node: 'mm',
      opType: 'MatMul',
      weight: 'enc.layers.2.attn.q_proj.weight',
      inFeatures: 4,
      outFeatures: 8,
      fanInFanOut: true,
      dtype: 'float32',
      layer: 2,
      isOutputHead: false,
      via: [],
    });
  });

  it('through Transpose: stored [out, in]; path from the node scope', async () => {
    const [t] = await targets({
      ...io(4, 8),
      nodes: [node('Transpose', ['onnx::MatMul_12'], ['wt'], 'tr', { perm: [1, 0] }), node('MatMul', ['x', 'wt'], ['h'], '/model/layers.1/mlp/up_proj/MatMul'), node('Relu', ['h'], ['y'])],
      initializers: [w('onnx::MatMul_12', [8, 4])],
    });
    expect(t).toMatchObject({ path: 'model.layers.1.mlp.up_proj', pathSource: 'node-scope', fanInFanOut: false, inFeatures: 4, outFeatures: 8, layer: 1, via: ['Transpose'] });
  });

  it('Gemm: transB=1 is [out, in], transB=0 is [in, out], and a Transpose flips it again', async () => {
    const ts = await targets({
      ...io(4, 2),
      nodes: [
        node('Gemm', ['x', 'a.weight', 'a.bias'], ['h1'], 'g1', { transB: 1 }),
        node('Gemm', ['h1', 'b.weight'], ['h2'], 'g2', { transB: 0 }),
        node('Transpose', ['c.weight'], ['ct'], 't'),
        node('Gemm', ['h2', 'ct'], ['y'], 'g3', { transB: 1 }),
      ],
      initializers: [w('a.weight', [6, 4]), f32('a.bias', [6], zeros(6)), w('b.weight', [6, 5]), w('c.weight', [5, 2])],
    });
    expect(ts.map((t) => [t.path, t.fanInFanOut, t.inFeatures, t.outFeatures, t.isOutputHead])).toEqual([
      ['a', false, 4, 6, false],
      ['b', true, 6, 5, false],
      ['c', true, 5, 2, true],
    ]);
  });

  it('through DequantizeLinear (int8 and int4) and Cast', async () => {
    const ts = await targets({
      ...io(4, 8),
      nodes: [
        node('DequantizeLinear', ['l0.weight_quantized', 's0'], ['w0'], 'dq0'),
        node('MatMul', ['x', 'w0'], ['h'], 'mm0'),
        node('DequantizeLinear', ['l1.weight', 's1'], ['w1'], 'dq1', { axis: 0 }),
        node('Cast', ['w1'], ['w1f'], 'cast', { to: 1 }),
        node('MatMul', ['h', 'w1f'], ['y'], 'mm1'),
      ],
      initializers: [
        tensor('l0.weight_quantized', DataType.INT8, [4, 8], { rawData: new Uint8Array(32) }),
        f32('s0', [], [0.1]),
        tensor('l1.weight', DataType.INT4, [8, 8], { rawData: new Uint8Array(32) }),
        f32('s1', [8], zeros(8)),
      ],
    });
    expect(ts.map((t) => [t.path, t.dtype, t.quantization, t.via])).toEqual([
      ['l0', 'int8', { op: 'DequantizeLinear', bits: 8 }, ['DequantizeLinear']],
      ['l1', 'int4', { op: 'DequantizeLinear', bits: 4 }, ['DequantizeLinear', 'Cast']],
    ]);
  });

  it('MatMulNBits from the GenAI builder: K/N from attributes, attn renamed to self_attn', async () => {
    const [t] = await targets({
      ...io(32, 8),
      producer: 'onnxruntime-genai',
      opsets: [{ domain: 'com.microsoft', version: 1 }],
      nodes: [
        node('MatMulNBits', ['x', 'model.layers.3.attn.qkv_proj.MatMul.weight_Q4', 'scales'], ['y'], '/model/layers.3/attn/qkv_proj/MatMul_Q4', { K: 32, N: 8, bits: 4, block_size: 32 }, 'com.microsoft'),
      ],
      initializers: [tensor('model.layers.3.attn.qkv_proj.MatMul.weight_Q4', DataType.UINT8, [8, 1, 16], { rawData: new Uint8Array(128) }), f32('scales', [8], zeros(8))],
    });
    expect(t).toMatchObject({
      path: 'model.layers.3.self_attn.qkv_proj',
      renamedFrom: 'model.layers.3.attn.qkv_proj',
      opType: 'MatMulNBits',
      inFeatures: 32,
      outFeatures: 8,
      fanInFanOut: false,
      dtype: 'uint8',
      quantization: { op: 'MatMulNBits', bits: 4 },
      layer: 3,
    });
  });

  it('numeric names: the bias name when there is one, else a generated path', async () => {
    const ts = await targets({
      ...io(2, 2),
      nodes: [
        node('MatMul', ['x', '302'], ['74'], 'MatMul_27'),
        node('Add', ['enc.layer.4.ffn.lin1.bias', '74'], ['75'], 'Add_28'),
        node('MatMul', ['75', '303'], ['76'], 'MatMul_29'),
        node('Gemm', ['76', '304'], ['y'], 'Gemm_30', { transB: 1 }),
      ],
      initializers: [w('302', [2, 2]), f32('enc.layer.4.ffn.lin1.bias', [2], [0, 0]), w('303', [2, 2]), w('304', [2, 2])],
    });
    expect(ts.map((t) => [t.path, t.pathSource, t.pathFrom, t.layer, t.isOutputHead])).toEqual([
      ['enc.layer.4.ffn.lin1', 'initializer', 'enc.layer.4.ffn.lin1.bias', 4, false],
      ['matmul.1', 'generated', 'MatMul_29', undefined, false],
      ['gemm.2', 'generated', 'Gemm_30', undefined, true],
    ]);
  });

  it('activation × activation and constant × constant matmuls are not targets', async () => {
    const ts = await targets({
      ...io(4, 4),
      nodes: [node('Transpose', ['x'], ['xt'], 't'), node('MatMul', ['x', 'xt'], ['s'], 'scores'), node('MatMul', ['a.weight', 'b.weight'], ['c'], 'folded'), node('MatMul', ['s', 'c'], ['y'], 'mm')],
      initializers: [w('a.weight', [4, 4]), w('b.weight', [4, 4])],
    });
    expect(ts.map((t) => t.node)).toEqual([]);
  });

  it('a head tied to the embedding is named by its scope, not by the embedding table', async () => {
    const ts = await targets({
      inputs: [valueInfo('ids', DataType.INT64, ['batch'])],
      outputs: [valueInfo('logits', DataType.FLOAT, ['batch', 10])],
      nodes: [
        node('Gather', ['wte.weight', 'ids'], ['h'], '/wte/Gather'),
        node('Transpose', ['wte.weight'], ['wt'], '/lm_head/Transpose'),
        node('MatMul', ['h', 'wt'], ['logits'], '/lm_head/MatMul'),
      ],
      initializers: [w('wte.weight', [10, 4])],
    });
    expect(ts).toHaveLength(1);
    expect(ts[0]).toMatchObject({ path: 'lm_head', pathSource: 'node-scope', weight: 'wte.weight', inFeatures: 4, outFeatures: 10, isOutputHead: true });
  });

  it('two weights with one recovered path get distinct paths; one weight used twice keeps one', async () => {
    const ts = await targets({
      ...io(4, 4),
      nodes: [
        node('MatMul', ['x', 'onnx::A'], ['a'], '/blk/proj/MatMul'),
        node('MatMul', ['a', 'onnx::B'], ['b'], '/blk/proj/MatMul_1'),
        node('MatMul', ['b', 'onnx::A'], ['y'], '/blk/proj/MatMul_2'),
      ],
      initializers: [w('onnx::A', [4, 4]), w('onnx::B', [4, 4])],
    });
    expect(ts.map((t) => t.path)).toEqual(['blk.proj', 'blk.proj_1', 'blk.proj']);
  });
});

describe('module path parsing', () => {
  it('initializer names', () => {
    expect(weightPath('transformer.h.0.attn.c_attn.weight')).toBe('transformer.h.0.attn.c_attn');
    expect(weightPath('model.layers.0.self_attn.q_proj.MatMul.weight')).toBe('model.layers.0.self_attn.q_proj');
    expect(weightPath('model.layers.0.attn.q_proj.MatMul.weight_Q4')).toBe('model.layers.0.attn.q_proj');
    expect(weightPath('lm_head.weight')).toBe('lm_head');
    for (const bad of ['onnx::MatMul_123', '302', 'MatMul_27', 'transformer.h.0.attn.c_attn.bias', 'a/b.weight']) expect(weightPath(bad)).toBeUndefined();
  });

  it('node scopes', () => {
    expect(scopePath('/model/layers.0/self_attn/q_proj/MatMul')).toBe('model.layers.0.self_attn.q_proj');
    expect(scopePath('/transformer/h.0/attn/c_attn/Gemm')).toBe('transformer.h.0.attn.c_attn');
    expect(scopePath('/lm_head/MatMul')).toBe('lm_head');
    for (const bad of ['MatMul_27', '/MatMul', 'GptAttention_0_matmul', '/a b/MatMul']) expect(scopePath(bad)).toBeUndefined();
  });

  it('layer indices', () => {
    expect(layerIndex('transformer.h.3.attn.c_attn')).toBe(3);
    expect(layerIndex('model.layers.12.mlp.up_proj')).toBe(12);
    expect(layerIndex('bert.encoder.layer.7.output.dense')).toBe(7);
    expect(layerIndex('vit.blocks.2.qkv')).toBe(2);
    expect(layerIndex('lm_head')).toBeUndefined();
    expect(layerIndex('model.heads.3.x')).toBeUndefined();
  });
});
