import { describe, expect, it } from 'vitest';
import { opKey, unsupportedOps, formatMissingOps } from '../../src/graph/coverage.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import { int64ToBigInt } from '../../src/onnx/proto.js';
import { DataType, encode, f32, node, tensor, valueInfo, type ModelSpec } from './build.js';

const x = valueInfo('x', DataType.FLOAT, ['batch', 4]);
const y = valueInfo('y', DataType.FLOAT, ['batch', 4]);
const load = (spec: ModelSpec, name = 'model.onnx') => readOnnxModel(encode({ inputs: [x], outputs: [y], ...spec }), { name });

describe('proto → IR', () => {
  it('sorts nodes topologically, keeping file order among ready nodes', async () => {
    const ir = await load({
      nodes: [node('Relu', ['b'], ['y'], 'last'), node('Neg', ['x'], ['a'], 'first'), node('Exp', ['a'], ['b'], 'middle'), node('Abs', ['x'], ['unused'], 'side')],
    });
    // Ready nodes go in file order: 'last' (index 0) becomes ready before 'side' (index 3) is taken.
    expect(ir.nodes.map((n) => n.name)).toEqual(['first', 'middle', 'last', 'side']);
  });

  it('a cycle is an error naming the nodes in it', async () => {
    const nodes = [node('Add', ['x', 'c'], ['a'], 'n1'), node('Relu', ['a'], ['b'], 'n2'), node('Neg', ['b'], ['c'], 'n3'), node('Identity', ['a'], ['y'], 'n4')];
    await expect(load({ nodes })).rejects.toThrow(/^model\.onnx: the graph has a cycle: 4 nodes wait on each other: 'n1' \(Add\), 'n2' \(Relu\), 'n3' \(Neg\), 'n4'/);
  });

  it('control flow is refused with the op and the node', async () => {
    const nodes = [node('Relu', ['x'], ['c'], 'pre'), node('If', ['c'], ['y'], '/model/if_block')];
    await expect(load({ nodes })).rejects.toThrow("model.onnx: control flow op If at node '/model/if_block' is not supported yet");
    await expect(load({ nodes: [node('Loop', ['x'], ['y'], '')] })).rejects.toThrow("control flow op Loop at node 'Loop#0'");
    await expect(load({ nodes: [node('Scan', ['x'], ['y'], 'scan')] })).rejects.toThrow('control flow op Scan');
  });

  it('default-domain opsets outside 11–21 are refused', async () => {
    const nodes = [node('Relu', ['x'], ['y'], 'r')];
    await expect(load({ nodes, opset: 9 })).rejects.toThrow(
      'model.onnx: default-domain opset 9 is not supported (webpeft reads opsets 11–21); re-export with opset_version >= 11',
    );
    await expect(load({ nodes, opset: 22 })).rejects.toThrow(/opset 22 is not supported/);
    const ir = await load({ nodes, opset: 21, opsets: [{ domain: 'com.microsoft', version: 1 }, { domain: 'ai.onnx.ml', version: 3 }] });
    expect(ir.opsets).toEqual({ '': 21, 'com.microsoft': 1, 'ai.onnx.ml': 3 });
  });

  it('Constant nodes become initializers; attributes become plain values', async () => {
    const ir = await load({
      nodes: [
        node('Constant', [], ['shape'], 'c1', { value: tensor('', DataType.INT64, [2], { int64Data: [-1, 4] }) }),
        node('Constant', [], ['half'], 'c2', { value_float: 0.5 }),
        node('Constant', [], ['axes'], 'c3', { value_ints: [0, 1] }),
        node('Reshape', ['x', 'shape'], ['r'], 'reshape'),
        node('Mul', ['r', 'half'], ['y'], 'mul', { note: 'why', alpha: 0.25, perm: [1, 0] }),
      ],
    });
    expect(ir.nodes.map((n) => n.opType)).toEqual(['Reshape', 'Mul']);
    expect(Array.from(ir.initializers.get('shape')!.hostData<BigInt64Array>())).toEqual([-1n, 4n]);
    expect(ir.initializers.get('half')!.dims).toEqual([]);
    expect(await ir.initializers.get('half')!.toArray()).toEqual([0.5]);
    expect(ir.initializers.get('axes')!.dtype).toBe('int64');
    expect(ir.nodes[1].attributes).toEqual({ note: 'why', alpha: 0.25, perm: [1, 0] });
  });

  it('graph inputs, outputs and values carry dtypes and symbolic dims; initializers listed as inputs are not inputs', async () => {
    const ir = await load({
      nodes: [node('Add', ['x', 'b'], ['y'], 'add')],
      initializers: [f32('b', [4], [1, 2, 3, 4])],
      inputs: [x, valueInfo('b', DataType.FLOAT, [4])],
      outputs: [{ name: 'y', type: { tensorType: { elemType: DataType.FLOAT } } }],
    });
    expect(ir.inputs).toEqual([{ name: 'x', dtype: 'float32', dims: ['batch', 4] }]);
    expect(ir.outputs).toEqual([{ name: 'y', dtype: 'float32', dims: [], unknownRank: true }]);
    expect(ir.values.get('x')!.dims).toEqual(['batch', 4]);
  });

  it('a graph input of a dtype nobody can feed is refused by name', async () => {
    const inputs = [valueInfo('x', DataType.DOUBLE, [2])];
    await expect(load({ inputs, nodes: [node('Relu', ['x'], ['y'], 'r')] })).rejects.toThrow("graph input 'x' has dtype double, which is not supported");
  });

  it('unnamed nodes get unique names; undefined inputs are named', async () => {
    const ir = await load({ nodes: [node('Neg', ['x'], ['a']), node('Neg', ['a'], ['y'])] });
    expect(ir.nodes.map((n) => n.name)).toEqual(['Neg#0', 'Neg#1']);
    await expect(load({ nodes: [node('Add', ['x', 'ghost'], ['y'], 'add')] })).rejects.toThrow(
      "node 'add' (Add) reads 'ghost', which no node, input or initializer provides",
    );
  });

  it('a value produced twice is an error', async () => {
    await expect(load({ nodes: [node('Neg', ['x'], ['y'], 'a'), node('Abs', ['x'], ['y'], 'b')] })).rejects.toThrow(/value 'y' is produced twice/);
  });

  it('subgraph attributes outside control flow are refused by node', async () => {
    const g = { name: 'body', node: [], input: [], output: [] };
    const n = { ...node('BeamSearch', ['x'], ['y'], 'beam', {}, 'com.microsoft'), attribute: [{ name: 'decoder', type: 5, g }] };
    await expect(load({ nodes: [n], opsets: [{ domain: 'com.microsoft', version: 1 }] })).rejects.toThrow(
      "attribute 'decoder' of node 'beam' (BeamSearch): is a subgraph",
    );
  });

  it('int64 fields convert exactly from Long and clamp from lossy numbers', () => {
    expect(int64ToBigInt({ low: -1, high: 0x7fffffff, unsigned: false })).toBe(9223372036854775807n);
    expect(int64ToBigInt({ low: 0, high: -1, unsigned: false })).toBe(-4294967296n);
    expect(int64ToBigInt(9.3e18)).toBe(9223372036854775807n);
    expect(int64ToBigInt(-42)).toBe(-42n);
  });
});

describe('op coverage', () => {
  it('lists each missing op once with domain, opset, first node and count', async () => {
    const ir = await load({
      nodes: [
        node('Neg', ['x'], ['a'], 'n0'),
        node('FastGelu', ['a'], ['b'], 'gelu0', {}, 'com.microsoft'),
        node('Erf', ['b'], ['c'], 'erf0'),
        node('FastGelu', ['c'], ['d'], 'gelu1', {}, 'com.microsoft'),
        node('Erf', ['d'], ['y'], 'erf1'),
      ],
      opset: 14,
      opsets: [{ domain: 'com.microsoft', version: 1 }],
    });
    const missing = unsupportedOps(ir, new Set(['Neg', opKey('com.microsoft', 'Attention')]));
    expect(missing).toEqual([
      { opType: 'FastGelu', domain: 'com.microsoft', opset: 1, firstNode: 'gelu0', count: 2 },
      { opType: 'Erf', domain: '', opset: 14, firstNode: 'erf0', count: 2 },
    ]);
    expect(formatMissingOps(missing)).toBe(
      "FastGelu (domain com.microsoft, opset 1): 2 node(s), first 'gelu0'\nErf (domain ai.onnx, opset 14): 2 node(s), first 'erf0'",
    );
    expect(unsupportedOps(ir, new Set(['Neg', 'Erf', 'com.microsoft::FastGelu']))).toEqual([]);
  });
});
