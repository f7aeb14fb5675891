/**
 * One-node ONNX models for oracle tests: build a ModelProto around a single node with
 * `encodeModelProto` (src/onnx/proto.ts), run it in onnxruntime-web (wasm, in this
 * process) and get webpeft `Tensor`s back. Constant inputs go in as initializers, so
 * dtypes onnxruntime-web cannot feed (int4) still reach the node.
 *
 *   const bytes = nodeModel({ opType: 'CumSum', inputs: { x }, initializers: { axis },
 *                             outputs: { y: 'float32' }, attributes: { exclusive: 1 } });
 *   const { y } = await runOnnx(bytes, { x });
 */
import * as ort from 'onnxruntime-web';
import { encodeModelProto, DataType, AttrType } from '../../src/onnx/proto.js';
import { Tensor, type DType, type HostData } from '../../src/tensor/tensor.js';

ort.env.wasm.numThreads = 1;

const ONNX_TYPE: Record<DType, number> = {
  float32: DataType.FLOAT, float16: DataType.FLOAT16, int32: DataType.INT32, int64: DataType.INT64,
  int8: DataType.INT8, uint8: DataType.UINT8, int4: DataType.INT4, bool: DataType.BOOL,
};

/** An attribute: integer → INT, other number → FLOAT, `{ float }` forces FLOAT, string, int list. */
export type Attr = number | { float: number } | string | readonly number[];

export interface NodeModelSpec {
  opType: string;
  /** '' is the default ONNX domain; 'com.microsoft' for contrib ops. */
  domain?: string;
  /** Default-domain opset (default 21); com.microsoft gets opset 1 when used. */
  opset?: number;
  /** Graph inputs fed at run time (only dtype and dims are read here). */
  inputs?: Record<string, Tensor>;
  /** Constant inputs, stored in the model. */
  initializers?: Record<string, Tensor>;
  /**
   * The node's input names in order, '' for a skipped optional input. Default: the
   * graph inputs, then the initializers, in object order.
   */
  nodeInputs?: string[];
  /** Output name → dtype (shapes are left to onnxruntime's inference). */
  outputs: Record<string, DType>;
  attributes?: Record<string, Attr>;
}

function tensorProto(name: string, t: Tensor): Record<string, unknown> {
  const d = t.hostData();
  return {
    name,
    dims: [...t.dims],
    dataType: ONNX_TYPE[t.dtype],
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice(),
  };
}

function valueInfo(name: string, dtype: DType, dims?: readonly number[]): Record<string, unknown> {
  const shape = dims ? { dim: dims.map((v) => ({ dimValue: v })) } : undefined;
  return { name, type: { tensorType: { elemType: ONNX_TYPE[dtype], ...(shape ? { shape } : {}) } } };
}

function attribute(name: string, v: Attr): Record<string, unknown> {
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: [...v] };
  if (typeof v === 'object') return { name, type: AttrType.FLOAT, f: (v as { float: number }).float };
  return Number.isInteger(v) ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
}

/** The serialized ModelProto (IR version 10) of one node. */
export function nodeModel(spec: NodeModelSpec): Uint8Array {
  const inputs = spec.inputs ?? {};
  const inits = spec.initializers ?? {};
  const domain = spec.domain ?? '';
  const opsetImport = [{ domain: '', version: spec.opset ?? 21 }];
  if (domain !== '') opsetImport.push({ domain, version: 1 });
  return encodeModelProto({
    irVersion: 10,
    producerName: 'webpeft-test',
    opsetImport,
    graph: {
      name: spec.opType,
      node: [{
        opType: spec.opType,
        domain,
        name: 'node',
        input: spec.nodeInputs ?? [...Object.keys(inputs), ...Object.keys(inits)],
        output: Object.keys(spec.outputs),
        attribute: Object.entries(spec.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      }],
      initializer: Object.entries(inits).map(([k, t]) => tensorProto(k, t)),
      input: Object.entries(inputs).map(([k, t]) => valueInfo(k, t.dtype, t.dims)),
      output: Object.entries(spec.outputs).map(([k, dt]) => valueInfo(k, dt)),
    },
  });
}

const ORT_TYPE: Partial<Record<DType, ort.Tensor.Type>> = {
  float32: 'float32', float16: 'float16', int32: 'int32', int64: 'int64', int8: 'int8', uint8: 'uint8', bool: 'bool',
};
const FROM_ORT: Partial<Record<string, DType>> = {
  float32: 'float32', float16: 'float16', int32: 'int32', int64: 'int64', int8: 'int8', uint8: 'uint8', bool: 'bool',
};

/** Runs a model in onnxruntime-web (wasm, one thread) and returns its outputs as host Tensors. */
export async function runOnnx(model: Uint8Array, feeds: Record<string, Tensor> = {}): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(model);
  try {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const type = ORT_TYPE[t.dtype];
      if (!type) throw new Error(`runOnnx: feed '${name}' has dtype ${t.dtype}; store it as an initializer instead`);
      ortFeeds[name] = new ort.Tensor(type, t.hostData() as never, [...t.dims]);
    }
    const out = await session.run(ortFeeds);
    const result: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(out)) {
      const dtype = FROM_ORT[t.type];
      if (!dtype) throw new Error(`runOnnx: output '${name}' has unsupported type ${t.type}`);
      result[name] = new Tensor(dtype, t.data as HostData, t.dims);
    }
    return result;
  } finally {
    await session.release();
  }
}
