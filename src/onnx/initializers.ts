/**
 * TensorProto → `Tensor`. Values come from raw_data (little-endian bytes; external data
 * has already been read into raw_data by load.ts) or from the typed repeated fields.
 *
 * Aligned raw_data becomes a view of the file's bytes, not a copy: a model's weights are
 * most of its file, and holding them twice would double peak memory. Unaligned raw_data
 * (protobuf does not align byte fields) is copied once into a fresh buffer.
 *
 * float16 stays as IEEE half bits (the backends cast on the device); bfloat16 and double
 * have no host dtype here, so they widen/narrow to float32 with a note.
 */
import { sizeOf, Tensor } from '../tensor/tensor.js';
import { DATA_LOCATION_EXTERNAL, DataType, dataTypeName, int64ToBigInt, int64ToNumber, type TensorProto } from './proto.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface Src {
  tp: TensorProto;
  /** For messages: "initializer 'w'" or "attribute 'value' of node 'n'". */
  what: string;
  dims: number[];
  n: number;
  raw?: Uint8Array;
  notes: string[];
}

type Decoder = (s: Src) => Tensor;

/** Decodes a TensorProto. Lossy conversions push a line to `notes`. */
export function tensorFromProto(tp: TensorProto, notes: string[], what = `initializer '${tp.name}'`): Tensor {
  const dims = tensorDims(tp, what);
  if (tp.segment) throw new Error(`${what}: segmented tensors are not supported`);
  const raw = tp.rawData && tp.rawData.length > 0 ? tp.rawData : undefined;
  const n = sizeOf(dims);
  if (tp.dataLocation === DATA_LOCATION_EXTERNAL && !raw && n > 0) {
    throw new Error(`${what}: its data is in an external file that was not loaded (load the model with loadModelProto)`);
  }
  const decode = DECODERS[tp.dataType];
  if (!decode) {
    throw new Error(`${what}: data type ${dataTypeName(tp.dataType)} is not supported (supported: ${SUPPORTED})`);
  }
  return decode({ tp, what, dims, n, raw, notes });
}

export function tensorDims(tp: TensorProto, what: string): number[] {
  return tp.dims.map((d) => {
    const v = int64ToNumber(d);
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${what}: invalid dims [${tp.dims.map(int64ToNumber).join(', ')}]`);
    return v;
  });
}

type Ctor<T> = { new (buf: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** `count` elements of raw_data as a typed array: a view when aligned, else a copy. */
function rawAs<T>(s: Src, C: Ctor<T>, count = s.n): T {
  const raw = s.raw!;
  const want = count * C.BYTES_PER_ELEMENT;
  if (raw.length !== want) {
    throw new Error(`${s.what}: raw_data has ${raw.length} bytes, but ${dataTypeName(s.tp.dataType)} dims [${s.dims.join(', ')}] need ${want}`);
  }
  if (C.BYTES_PER_ELEMENT > 1 && !LITTLE_ENDIAN) throw new Error(`${s.what}: big-endian hosts are not supported`);
  // new Uint8Array(typedArray) copies into a fresh, aligned buffer (Buffer#slice would not copy).
  const src = raw.byteOffset % C.BYTES_PER_ELEMENT === 0 ? raw : new Uint8Array(raw);
  return new C(src.buffer, src.byteOffset, count);
}

/** The typed field's values, checked against the element count. */
function typed<T>(s: Src, field: T[], count = s.n): T[] {
  if (field.length !== count) {
    throw new Error(`${s.what}: has ${field.length} stored values, but ${dataTypeName(s.tp.dataType)} dims [${s.dims.join(', ')}] need ${count}`);
  }
  return field;
}

const bf16ToF32 = (bits: Uint16Array): Float32Array => {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
};

/** 4-bit values are packed two per byte, low nibble first, in raw_data and int32_data alike. */
const packedBytes = (s: Src): Uint8Array =>
  s.raw ? rawAs(s, Uint8Array, Math.ceil(s.n / 2)) : Uint8Array.from(typed(s, s.tp.int32Data, Math.ceil(s.n / 2)), (v) => v & 0xff);

const note = (s: Src, text: string) => s.notes.push(`${s.what}: ${text}`);

const DECODERS: Record<number, Decoder> = {
  [DataType.FLOAT]: (s) => new Tensor('float32', s.raw ? rawAs(s, Float32Array) : Float32Array.from(typed(s, s.tp.floatData)), s.dims),
  [DataType.FLOAT16]: (s) =>
    new Tensor('float16', s.raw ? rawAs(s, Uint16Array) : Uint16Array.from(typed(s, s.tp.int32Data), (v) => v & 0xffff), s.dims),
  [DataType.BFLOAT16]: (s) => {
    const bits = s.raw ? rawAs(s, Uint16Array) : Uint16Array.from(typed(s, s.tp.int32Data), (v) => v & 0xffff);
    return new Tensor('float32', bf16ToF32(bits), s.dims); // exact: bf16 is f32's top half
  },
  [DataType.DOUBLE]: (s) => {
    note(s, 'double narrowed to float32');
    return new Tensor('float32', Float32Array.from(s.raw ? rawAs(s, Float64Array) : typed(s, s.tp.doubleData)), s.dims);
  },
  [DataType.INT8]: (s) => new Tensor('int8', s.raw ? rawAs(s, Int8Array) : Int8Array.from(typed(s, s.tp.int32Data)), s.dims),
  [DataType.UINT8]: (s) => new Tensor('uint8', s.raw ? rawAs(s, Uint8Array) : Uint8Array.from(typed(s, s.tp.int32Data)), s.dims),
  [DataType.BOOL]: (s) => new Tensor('bool', s.raw ? rawAs(s, Uint8Array) : Uint8Array.from(typed(s, s.tp.int32Data), (v) => (v ? 1 : 0)), s.dims),
  [DataType.INT16]: (s) => {
    note(s, 'int16 widened to int32');
    return new Tensor('int32', Int32Array.from(s.raw ? rawAs(s, Int16Array) : typed(s, s.tp.int32Data)), s.dims);
  },
  [DataType.UINT16]: (s) => {
    note(s, 'uint16 widened to int32');
    return new Tensor('int32', Int32Array.from(s.raw ? rawAs(s, Uint16Array) : typed(s, s.tp.int32Data)), s.dims);
  },
  [DataType.INT4]: (s) => new Tensor('int4', packedBytes(s), s.dims), // same packing as Tensor's int4
  [DataType.UINT4]: (s) => {
    // Tensor's int4 is signed; uint4 unpacks to uint8 so values 8..15 keep their meaning.
    note(s, 'uint4 unpacked to uint8');
    const packed = packedBytes(s);
    const out = new Uint8Array(s.n);
    for (let i = 0; i < s.n; i++) out[i] = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
    return new Tensor('uint8', out, s.dims);
  },
  [DataType.INT32]: (s) => new Tensor('int32', s.raw ? rawAs(s, Int32Array) : Int32Array.from(typed(s, s.tp.int32Data)), s.dims),
  [DataType.INT64]: (s) =>
    new Tensor('int64', s.raw ? rawAs(s, BigInt64Array) : BigInt64Array.from(typed(s, s.tp.int64Data), int64ToBigInt), s.dims),
};

const SUPPORTED = Object.keys(DECODERS)
  .map((k) => dataTypeName(Number(k)))
  .join(', ');

const BYTES: Record<number, number> = {
  [DataType.FLOAT]: 4, [DataType.FLOAT16]: 2, [DataType.BFLOAT16]: 2, [DataType.DOUBLE]: 8,
  [DataType.INT8]: 1, [DataType.UINT8]: 1, [DataType.BOOL]: 1, [DataType.INT16]: 2, [DataType.UINT16]: 2,
  [DataType.INT32]: 4, [DataType.INT64]: 8,
};

/** Bytes a tensor's raw_data should have, or undefined for data types not decoded here. */
export function rawByteLength(tp: TensorProto): number | undefined {
  const n = sizeOf(tensorDims(tp, `tensor '${tp.name}'`));
  if (tp.dataType === DataType.INT4 || tp.dataType === DataType.UINT4) return Math.ceil(n / 2);
  const b = BYTES[tp.dataType];
  return b === undefined ? undefined : n * b;
}
