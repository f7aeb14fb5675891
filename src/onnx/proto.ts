/**
 * The subset of onnx.proto (IR version ≤ 10) that webpeft reads and writes, as a
 * protobufjs reflection descriptor: no .proto file is read at run time and there is no
 * codegen step. Field numbers are onnx.proto's; names are camelCase as protobufjs uses.
 * Enums are declared as int32 (same wire format) so decoded values are plain numbers.
 * Fields we never read (training_info, functions, quantization annotations) are left
 * out; protobufjs skips unknown fields, so models that carry them still decode.
 */
import protobuf from 'protobufjs/light.js';

/** int64 as protobufjs decodes it: a number, or a Long when the `long` package is found. */
export type Int64 = number | { low: number; high: number; unsigned: boolean };

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface OperatorSetIdProto {
  domain: string;
  version: Int64;
}

export interface TensorProto {
  dims: Int64[];
  dataType: number;
  segment?: { begin: Int64; end: Int64 } | null;
  floatData: number[];
  int32Data: number[];
  stringData: Uint8Array[];
  int64Data: Int64[];
  name: string;
  docString: string;
  rawData: Uint8Array;
  externalData: StringStringEntryProto[];
  dataLocation: number;
  doubleData: number[];
  uint64Data: Int64[];
}

export interface DimensionProto {
  dimValue?: Int64;
  dimParam?: string;
  denotation?: string;
}

export interface TypeProto {
  tensorType?: { elemType: number; shape?: { dim: DimensionProto[] } | null } | null;
  sequenceType?: object | null;
  mapType?: object | null;
  optionalType?: object | null;
  sparseTensorType?: object | null;
}

export interface ValueInfoProto {
  name: string;
  type?: TypeProto | null;
  docString: string;
}

export interface AttributeProto {
  name: string;
  refAttrName: string;
  type: number;
  f: number;
  i: Int64;
  s: Uint8Array;
  t?: TensorProto | null;
  g?: GraphProto | null;
  sparseTensor?: object | null;
  tp?: TypeProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  tensors: TensorProto[];
  graphs: GraphProto[];
}

export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: AttributeProto[];
}

export interface GraphProto {
  node: NodeProto[];
  name: string;
  initializer: TensorProto[];
  sparseInitializer: object[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
}

export interface ModelProto {
  irVersion: Int64;
  opsetImport: OperatorSetIdProto[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: Int64;
  docString: string;
  graph?: GraphProto | null;
  metadataProps: StringStringEntryProto[];
}

/** onnx.proto's TensorProto.DataType values. */
export const DataType = {
  UNDEFINED: 0, FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9,
  FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16,
  FLOAT8E4M3FN: 17, FLOAT8E4M3FNUZ: 18, FLOAT8E5M2: 19, FLOAT8E5M2FNUZ: 20, UINT4: 21, INT4: 22, FLOAT4E2M1: 23,
} as const;

/** DataType number → its onnx.proto name, for error messages. */
export function dataTypeName(t: number): string {
  const hit = Object.entries(DataType).find(([, v]) => v === t);
  return hit ? hit[0].toLowerCase() : `unknown data type ${t}`;
}

/** onnx.proto's AttributeProto.AttributeType values. */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

export const DATA_LOCATION_EXTERNAL = 1;

type FieldDesc = { type: string; id: number; rule?: 'repeated'; options?: { packed: boolean } };
const f = (type: string, id: number): FieldDesc => ({ type, id });
/** onnx.proto is proto2: repeated scalars are unpacked unless marked [packed = true]. */
const list = (type: string, id: number, packed = false): FieldDesc => ({ type, id, rule: 'repeated', options: { packed } });

const DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: f('string', 1), value: f('string', 2) } },
        OperatorSetIdProto: { fields: { domain: f('string', 1), version: f('int64', 2) } },
        TensorProto: {
          fields: {
            dims: list('int64', 1),
            dataType: f('int32', 2),
            segment: f('Segment', 3),
            floatData: list('float', 4, true),
            int32Data: list('int32', 5, true),
            stringData: list('bytes', 6),
            int64Data: list('int64', 7, true),
            name: f('string', 8),
            docString: f('string', 12),
            rawData: f('bytes', 9),
            externalData: list('StringStringEntryProto', 13),
            dataLocation: f('int32', 14),
            doubleData: list('double', 10, true),
            uint64Data: list('uint64', 11, true),
          },
          nested: { Segment: { fields: { begin: f('int64', 1), end: f('int64', 2) } } },
        },
        // Sparse tensors are only detected (to reject them), so their fields are not read.
        SparseTensorProto: { fields: { values: f('TensorProto', 1), indices: f('TensorProto', 2), dims: list('int64', 3) } },
        TensorShapeProto: {
          fields: { dim: list('Dimension', 1) },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
              fields: { dimValue: f('int64', 1), dimParam: f('string', 2), denotation: f('string', 3) },
            },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ['tensorType', 'sequenceType', 'mapType', 'optionalType', 'sparseTensorType'] } },
          fields: {
            tensorType: f('Tensor', 1),
            sequenceType: f('Sequence', 4),
            mapType: f('Map', 5),
            optionalType: f('Optional', 9),
            sparseTensorType: f('Tensor', 8),
            denotation: f('string', 6),
          },
          nested: {
            Tensor: { fields: { elemType: f('int32', 1), shape: f('TensorShapeProto', 2) } },
            Sequence: { fields: { elemType: f('TypeProto', 1) } },
            Map: { fields: { keyType: f('int32', 1), valueType: f('TypeProto', 2) } },
            Optional: { fields: { elemType: f('TypeProto', 1) } },
          },
        },
        ValueInfoProto: { fields: { name: f('string', 1), type: f('TypeProto', 2), docString: f('string', 3) } },
        AttributeProto: {
          fields: {
            name: f('string', 1),
            refAttrName: f('string', 21),
            docString: f('string', 13),
            type: f('int32', 20),
            f: f('float', 2),
            i: f('int64', 3),
            s: f('bytes', 4),
            t: f('TensorProto', 5),
            g: f('GraphProto', 6),
            sparseTensor: f('SparseTensorProto', 22),
            tp: f('TypeProto', 14),
            floats: list('float', 7),
            ints: list('int64', 8),
            strings: list('bytes', 9),
            tensors: list('TensorProto', 10),
            graphs: list('GraphProto', 11),
            sparseTensors: list('SparseTensorProto', 23),
            typeProtos: list('TypeProto', 15),
          },
        },
        NodeProto: {
          fields: {
            input: list('string', 1),
            output: list('string', 2),
            name: f('string', 3),
            opType: f('string', 4),
            domain: f('string', 7),
            overload: f('string', 8),
            attribute: list('AttributeProto', 5),
            docString: f('string', 6),
          },
        },
        GraphProto: {
          fields: {
            node: list('NodeProto', 1),
            name: f('string', 2),
            initializer: list('TensorProto', 5),
            sparseInitializer: list('SparseTensorProto', 15),
            docString: f('string', 10),
            input: list('ValueInfoProto', 11),
            output: list('ValueInfoProto', 12),
            valueInfo: list('ValueInfoProto', 13),
          },
        },
        ModelProto: {
          fields: {
            irVersion: f('int64', 1),
            opsetImport: list('OperatorSetIdProto', 8),
            producerName: f('string', 2),
            producerVersion: f('string', 3),
            domain: f('string', 4),
            modelVersion: f('int64', 5),
            docString: f('string', 6),
            graph: f('GraphProto', 7),
            metadataProps: list('StringStringEntryProto', 14),
          },
        },
      },
    },
  },
};

let modelType: protobuf.Type | undefined;

/** Built on first use, so importing this module costs nothing. */
function ModelType(): protobuf.Type {
  modelType ??= protobuf.Root.fromJSON(DESCRIPTOR).lookupType('onnx.ModelProto');
  return modelType;
}

/** A model file (or buffer) that is not a valid ModelProto. The message starts with the file name. */
export class OnnxDecodeError extends Error {
  override name = 'OnnxDecodeError';
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** Runs `fn`, making sure any error it throws starts with the file name. */
export async function withFile<T>(file: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw prefixed(file, err);
  }
}

export function prefixed(file: string, err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return e.message.startsWith(`${file}: `) ? e : new Error(`${file}: ${e.message}`, { cause: e });
}

/**
 * Decodes a ModelProto. `bytes` fields (raw_data) are views into `bytes`, not copies.
 * A truncated or corrupt buffer throws `OnnxDecodeError` naming `file`.
 */
export function decodeModelProto(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.byteLength === 0) throw new OnnxDecodeError(file, 'the file is empty');
  let model: ModelProto;
  try {
    model = ModelType().decode(bytes) as unknown as ModelProto;
  } catch (err) {
    const why = (err as Error).message ?? String(err);
    throw new OnnxDecodeError(file, `not a valid ONNX model (protobuf decode failed: ${why}; truncated or corrupt file?)`, { cause: err });
  }
  // Random bytes sometimes decode as a message with no graph at all.
  if (!model.graph) throw new OnnxDecodeError(file, 'not a valid ONNX model (no graph in the ModelProto; truncated or corrupt file?)');
  return model;
}

/**
 * Encodes a ModelProto given as a plain object (int64 as numbers, bytes as Uint8Array).
 * Used by tests to build small models, and later by the exporter.
 */
export function encodeModelProto(model: Partial<ModelProto> | Record<string, unknown>): Uint8Array {
  const T = ModelType();
  const msg = T.fromObject(model);
  const err = T.verify(msg);
  if (err) throw new Error(`encodeModelProto: ${err}`);
  return T.encode(msg).finish();
}

/** int64 field → bigint, exact for Long values; numbers beyond ±2^63 clamp (protobufjs without `long` rounds). */
export function int64ToBigInt(v: Int64 | string | bigint): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string') return BigInt(v);
  if (typeof v === 'number') {
    if (v >= 9223372036854775807) return 9223372036854775807n;
    if (v <= -9223372036854775808) return -9223372036854775808n;
    return BigInt(Math.trunc(v));
  }
  const lo = BigInt(v.low >>> 0);
  const hi = BigInt(v.unsigned ? v.high >>> 0 : v.high | 0);
  return (hi << 32n) | lo;
}

/** int64 field → number (exact below 2^53; INT64_MAX-style sentinels stay ordered). */
export function int64ToNumber(v: Int64): number {
  if (typeof v === 'number') return v;
  return Number(int64ToBigInt(v));
}

/** Whether an optional scalar field was present on the wire (protobufjs sets only those as own properties). */
export function has(msg: object | null | undefined, field: string): boolean {
  return !!msg && Object.prototype.hasOwnProperty.call(msg, field);
}
