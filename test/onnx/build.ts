/**
 * Builds small ModelProtos for tests, encoded with the same descriptor the reader uses.
 * Plain objects in protobufjs's fromObject form: int64 as numbers, bytes as Uint8Array.
 */
import { DataType, encodeModelProto } from '../../src/onnx/proto.js';

export { DataType };

type Obj = Record<string, unknown>;

export function tensor(name: string, dataType: number, dims: number[], fields: Obj = {}): Obj {
  return { name, dataType, dims, ...fields };
}

/** A float32 tensor stored as raw_data. */
export function f32(name: string, dims: number[], values: number[]): Obj {
  return tensor(name, DataType.FLOAT, dims, { rawData: new Uint8Array(Float32Array.from(values).buffer) });
}

export function externalTensor(name: string, dataType: number, dims: number[], location: string, offset: number, length: number): Obj {
  const externalData = [
    { key: 'location', value: location },
    { key: 'offset', value: String(offset) },
    { key: 'length', value: String(length) },
  ];
  return tensor(name, dataType, dims, { externalData, dataLocation: 1 });
}

/** attrs: numbers become INT (or FLOAT when not integers), arrays INTS, strings STRING, objects TENSOR. */
export function node(opType: string, inputs: string[], outputs: string[], name = '', attrs: Obj = {}, domain = ''): Obj {
  const attribute = Object.entries(attrs).map(([k, v]) => attr(k, v));
  return { opType, input: inputs, output: outputs, name, domain, attribute };
}

function attr(name: string, v: unknown): Obj {
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  return { name, type: 4, t: v };
}

export function valueInfo(name: string, elemType: number, dims: (number | string)[]): Obj {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

export interface ModelSpec {
  nodes?: Obj[];
  initializers?: Obj[];
  inputs?: Obj[];
  outputs?: Obj[];
  opset?: number;
  opsets?: Obj[];
  producer?: string;
}

export function model(spec: ModelSpec): Obj {
  return {
    irVersion: 8,
    producerName: spec.producer ?? 'webpeft-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }, ...(spec.opsets ?? [])],
    graph: {
      name: 'test',
      node: spec.nodes ?? [],
      initializer: spec.initializers ?? [],
      input: spec.inputs ?? [],
      output: spec.outputs ?? [],
    },
  };
}

export function encode(spec: ModelSpec): Uint8Array {
  return encodeModelProto(model(spec));
}

/** A linear layer y = x·W: x [batch, inF] input, W stored as given. */
export function matmulModel(w: Obj, inF: number, outF: number, extra: Partial<ModelSpec> = {}): Uint8Array {
  return encode({
    nodes: [node('MatMul', ['x', w.name as string], ['y'], '/lin/MatMul')],
    initializers: [w],
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', inF])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', outF])],
    ...extra,
  });
}
