/**
 * Decoded ModelProto → GraphIR: opset check, initializers and Constant nodes decoded into
 * tensors, attributes into plain values, graph inputs/outputs typed, nodes sorted.
 * Control flow (If/Loop/Scan) is refused up front with the node's name rather than
 * failing later somewhere inside a subgraph.
 */
import type { Dim, GraphIR, IrNode, IrValue } from '../graph/ir.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { attributesFromProto } from './attributes.js';
import { tensorFromProto } from './initializers.js';
import { DataType, dataTypeName, has, int64ToNumber, OnnxDecodeError, prefixed, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';
import { topoSort } from './topo.js';

/** Default-domain opsets read here: 11 is the oldest exporters still emit for transformers. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 21;

const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/** `file` names the model in every message. */
export function modelToIr(model: ModelProto, file: string): GraphIR {
  try {
    return convert(model, file);
  } catch (err) {
    throw prefixed(file, err);
  }
}

function convert(model: ModelProto, file: string): GraphIR {
  const g = model.graph;
  if (!g) throw new OnnxDecodeError(file, 'the ModelProto has no graph');
  if (g.sparseInitializer.length) throw new Error('sparse initializers are not supported');
  const opsets = readOpsets(model);
  const notes: string[] = [];
  const initializers = new Map<string, Tensor>();
  for (const tp of g.initializer) {
    if (initializers.has(tp.name)) throw new Error(`initializer '${tp.name}' is defined twice`);
    initializers.set(tp.name, tensorFromProto(tp, notes));
  }
  const nodes = readNodes(g.node, initializers, notes);
  const values = new Map<string, IrValue>();
  for (const vi of g.valueInfo) {
    const v = valueFromProto(vi, 'value_info', false);
    if (v) values.set(v.name, v);
  }
  const inputs = g.input.filter((vi) => !initializers.has(vi.name)).map((vi) => valueFromProto(vi, 'graph input', true)!);
  const outputs = g.output.map((vi) => valueFromProto(vi, 'graph output', true)!);
  for (const v of [...inputs, ...outputs]) values.set(v.name, v);
  const available = new Set(['', ...inputs.map((v) => v.name), ...initializers.keys()]);
  return {
    name: g.name,
    producer: { name: model.producerName, version: model.producerVersion },
    opsets,
    nodes: topoSort(nodes, available),
    initializers,
    inputs,
    outputs,
    values,
    metadata: Object.fromEntries(model.metadataProps.map((e) => [e.key, e.value])),
    notes,
  };
}

function readOpsets(model: ModelProto): Record<string, number> {
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport) opsets[normDomain(o.domain)] = int64ToNumber(o.version);
  const v = opsets[''];
  if (v === undefined) throw new Error('the model imports no opset for the default ONNX domain');
  if (v < MIN_OPSET || v > MAX_OPSET) {
    const hint = v < MIN_OPSET ? `; re-export with opset_version >= ${MIN_OPSET}` : '';
    throw new Error(`default-domain opset ${v} is not supported (webpeft reads opsets ${MIN_OPSET}–${MAX_OPSET})${hint}`);
  }
  return opsets;
}

const normDomain = (d: string) => (d === 'ai.onnx' ? '' : d);

/** NodeProtos → IrNodes; Constant nodes become initializers instead. */
function readNodes(protos: NodeProto[], initializers: Map<string, Tensor>, notes: string[]): IrNode[] {
  const nodes: IrNode[] = [];
  const names = irNodeNames(protos);
  protos.forEach((p, i) => {
    const name = names[i];
    if (CONTROL_FLOW.has(p.opType)) throw new Error(`control flow op ${p.opType} at node '${name}' is not supported yet`);
    const where = `node '${name}' (${p.opType})`;
    const domain = normDomain(p.domain);
    if (p.opType === 'Constant' && domain === '') {
      const out = p.output[0];
      if (initializers.has(out)) throw new Error(`${where}: its output '${out}' is also an initializer`);
      initializers.set(out, constantValue(p, where, notes));
      return;
    }
    nodes.push({ name, opType: p.opType, domain, inputs: [...p.input], outputs: [...p.output], attributes: attributesFromProto(p, where, notes) });
  });
  return nodes;
}

/**
 * The IR name of each NodeProto, in file order. Node names are optional in ONNX; messages
 * and module paths need one, so unnamed nodes get `<opType>#<index>` (exports use this to
 * find an IR node in the file again).
 */
export function irNodeNames(protos: readonly NodeProto[]): string[] {
  const taken = new Set<string>();
  return protos.map((p, i) => {
    let name = p.name || `${p.opType}#${i}`;
    if (taken.has(name)) name = `${name}#${i}`;
    taken.add(name);
    return name;
  });
}

function constantValue(p: NodeProto, where: string, notes: string[]): Tensor {
  const attrs = attributesFromProto(p, where, notes);
  const [key, value] = Object.entries(attrs)[0] ?? [];
  const scalar = (dtype: 'float32' | 'int64', v: number[], dims: number[]) =>
    new Tensor(dtype, dtype === 'int64' ? BigInt64Array.from(v, (x) => BigInt(x)) : Float32Array.from(v), dims);
  switch (key) {
    case 'value':
      return value as Tensor;
    case 'value_float':
      return scalar('float32', [value as number], []);
    case 'value_floats':
      return scalar('float32', value as number[], [(value as number[]).length]);
    case 'value_int':
      return scalar('int64', [value as number], []);
    case 'value_ints':
      return scalar('int64', value as number[], [(value as number[]).length]);
    default:
      throw new Error(`${where}: constant attribute '${key ?? '(none)'}' is not supported (string and sparse constants)`);
  }
}

/** Value types the caller can feed or receive as they are (initializers may also widen, values may not). */
const VALUE_DTYPE: Record<number, DType> = {
  [DataType.FLOAT]: 'float32',
  [DataType.FLOAT16]: 'float16',
  [DataType.INT8]: 'int8',
  [DataType.UINT8]: 'uint8',
  [DataType.INT4]: 'int4',
  [DataType.INT32]: 'int32',
  [DataType.INT64]: 'int64',
  [DataType.BOOL]: 'bool',
};

/** A ValueInfoProto → IrValue. Graph inputs/outputs must be tensors of a known dtype; value_info entries that are not are skipped. */
function valueFromProto(vi: ValueInfoProto, what: string, required: boolean): IrValue | undefined {
  const tt = vi.type?.tensorType;
  const dtype = tt ? VALUE_DTYPE[tt.elemType] : undefined;
  if (!tt || !dtype) {
    if (!required) return undefined;
    const kind = tt ? `dtype ${dataTypeName(tt.elemType)}` : 'a non-tensor type (sequence, map or optional)';
    throw new Error(`${what} '${vi.name}' has ${kind}, which is not supported`);
  }
  if (!tt.shape) return { name: vi.name, dtype, dims: [], unknownRank: true };
  const dims: Dim[] = tt.shape.dim.map((d) => (has(d, 'dimValue') ? int64ToNumber(d.dimValue!) : d.dimParam || '?'));
  return { name: vi.name, dtype, dims };
}
