import { describe, expect, it } from 'vitest';
import { tensorFromProto } from '../../src/onnx/initializers.js';
import { decodeModelProto, type TensorProto } from '../../src/onnx/proto.js';
import { f16BitsToF32 } from '../../src/tensor/tensor.js';
import { DataType, encode, tensor } from './build.js';

/** Encodes the tensor inside a model and decodes it again, so fields go through the real wire format. */
function roundTrip(t: Record<string, unknown>): TensorProto {
  return decodeModelProto(encode({ initializers: [t] }), 'm.onnx').graph!.initializer[0];
}

function decode(t: Record<string, unknown>, notes: string[] = []) {
  return tensorFromProto(roundTrip(t), notes);
}

/** `bytes` placed at an odd offset inside a larger buffer, as protobuf byte fields usually are. */
function unaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes, 1);
  return buf.subarray(1);
}

const le = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('initializer decoding', () => {
  it('float32 from raw_data at an unaligned offset (copied) and from float_data', async () => {
    const vals = [1.5, -2, 3.25, 0, 1e-3, 7];
    const tp = roundTrip(tensor('w', DataType.FLOAT, [2, 3], { rawData: le(Float32Array.from(vals)) }));
    tp.rawData = unaligned(tp.rawData);
    const t = tensorFromProto(tp, []);
    expect(t.dtype).toBe('float32');
    expect(t.dims).toEqual([2, 3]);
    expect(Array.from(t.hostData<Float32Array>())).toEqual(vals.map(Math.fround));
    expect(await decode(tensor('w', DataType.FLOAT, [3], { floatData: [1, 2, 3] })).toArray()).toEqual([1, 2, 3]);
  });

  it('aligned raw_data is a view of the file bytes, not a copy', () => {
    const tp = roundTrip(tensor('w', DataType.FLOAT, [2], { rawData: le(Float32Array.from([1, 2])) }));
    const owned = new Uint8Array(16);
    owned.set(tp.rawData, 8);
    tp.rawData = owned.subarray(8);
    expect(tensorFromProto(tp, []).hostData<Float32Array>().buffer).toBe(owned.buffer);
  });

  it('float16 stays as half bits, from raw_data and from int32_data', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001];
    const raw = decode(tensor('h', DataType.FLOAT16, [4], { rawData: le(Uint16Array.from(bits)) }));
    expect(raw.dtype).toBe('float16');
    expect(Array.from(raw.hostData<Uint16Array>())).toEqual(bits);
    const typed = decode(tensor('h', DataType.FLOAT16, [2, 2], { int32Data: bits }));
    expect(Array.from(typed.hostData<Uint16Array>())).toEqual(bits);
    expect(f16BitsToF32(typed.hostData<Uint16Array>()[2])).toBe(65504);
  });

  it('bfloat16 widens to float32 exactly, from raw_data (unaligned) and int32_data', async () => {
    // bf16 bits are the top half of the f32 bits: 1.0 = 0x3f80, -2.5 = 0xc020, 3.140625 = 0x4049.
    const bits = [0x3f80, 0xc020, 0x4049];
    const tp = roundTrip(tensor('b', DataType.BFLOAT16, [3], { rawData: le(Uint16Array.from(bits)) }));
    tp.rawData = unaligned(tp.rawData);
    const t = tensorFromProto(tp, []);
    expect(t.dtype).toBe('float32');
    expect(await t.toArray()).toEqual([1, -2.5, 3.140625]);
    expect(await decode(tensor('b', DataType.BFLOAT16, [3], { int32Data: bits })).toArray()).toEqual([1, -2.5, 3.140625]);
  });

  it('double narrows to float32 with a note', async () => {
    const notes: string[] = [];
    const t = decode(tensor('d', DataType.DOUBLE, [2], { rawData: le(Float64Array.from([0.1, -3])) }), notes);
    expect(t.dtype).toBe('float32');
    expect(await t.toArray()).toEqual([Math.fround(0.1), -3]);
    expect(notes).toEqual(["initializer 'd': double narrowed to float32"]);
    expect(await decode(tensor('d', DataType.DOUBLE, [1], { doubleData: [2.5] })).toArray()).toEqual([2.5]);
  });

  it('int4 stays packed (low nibble first), odd counts included; uint4 unpacks to uint8', async () => {
    // values 1, -2, 7, -8, 3 → nibbles 1, e, 7, 8, 3 → bytes 0xe1, 0x87, 0x03
    const packed = Uint8Array.from([0xe1, 0x87, 0x03]);
    const t = decode(tensor('q', DataType.INT4, [5], { rawData: packed }));
    expect(t.dtype).toBe('int4');
    expect(Array.from(t.hostData<Uint8Array>())).toEqual([0xe1, 0x87, 0x03]);
    expect(await t.toArray()).toEqual([1, -2, 7, -8, 3]);
    const typed = decode(tensor('q', DataType.INT4, [5], { int32Data: [0xe1, 0x87, 0x03] }));
    expect(await typed.toArray()).toEqual([1, -2, 7, -8, 3]);
    const notes: string[] = [];
    const u = decode(tensor('u', DataType.UINT4, [5], { rawData: packed }), notes);
    expect(u.dtype).toBe('uint8');
    expect(await u.toArray()).toEqual([1, 14, 7, 8, 3]);
    expect(notes[0]).toMatch(/uint4 unpacked to uint8/);
  });

  it('int8, uint8, bool, int32 and int16 (widened) from raw_data and int32_data', async () => {
    expect(await decode(tensor('a', DataType.INT8, [3], { rawData: Uint8Array.from([0xff, 0x80, 5]) })).toArray()).toEqual([-1, -128, 5]);
    expect(await decode(tensor('a', DataType.INT8, [2], { int32Data: [-5, 100] })).toArray()).toEqual([-5, 100]);
    expect(await decode(tensor('a', DataType.UINT8, [2], { rawData: Uint8Array.from([0, 255]) })).toArray()).toEqual([0, 255]);
    expect(await decode(tensor('a', DataType.BOOL, [3], { int32Data: [1, 0, 1] })).toArray()).toEqual([1, 0, 1]);
    const i32 = decode(tensor('a', DataType.INT32, [2], { rawData: le(Int32Array.from([-7, 1 << 30])) }));
    expect(await i32.toArray()).toEqual([-7, 1 << 30]);
    const i16 = decode(tensor('a', DataType.INT16, [2], { rawData: le(Int16Array.from([-300, 300])) }));
    expect(i16.dtype).toBe('int32');
    expect(await i16.toArray()).toEqual([-300, 300]);
  });

  it('int64 exactly, including the INT64 sentinels exporters use in Slice', () => {
    const vals = [1n, -1n, 9223372036854775807n, -9223372036854775808n, 1234567890123n];
    const raw = decode(tensor('i', DataType.INT64, [5], { rawData: le(BigInt64Array.from(vals)) }));
    expect(Array.from(raw.hostData<BigInt64Array>())).toEqual(vals);
    const typed = decode(tensor('i', DataType.INT64, [5], { int64Data: vals.map(String) }));
    expect(Array.from(typed.hostData<BigInt64Array>())).toEqual(vals);
  });

  it('scalars and empty tensors', async () => {
    const s = decode(tensor('s', DataType.FLOAT, [], { floatData: [4] }));
    expect(s.dims).toEqual([]);
    expect(await s.toArray()).toEqual([4]);
    expect(decode(tensor('e', DataType.FLOAT, [0, 3])).size).toBe(0);
  });

  it('unsupported data types name the tensor and the type', () => {
    expect(() => decode(tensor('names', DataType.STRING, [1], { stringData: [new Uint8Array([65])] }))).toThrow(
      /initializer 'names': data type string is not supported \(supported: float, uint8/,
    );
    expect(() => decode(tensor('f8', DataType.FLOAT8E4M3FN, [1], { rawData: new Uint8Array(1) }))).toThrow(/'f8': data type float8e4m3fn/);
    expect(() => decode(tensor('c', DataType.COMPLEX64, [1], { floatData: [1, 2] }))).toThrow(/'c': data type complex64/);
  });

  it('a size mismatch names the tensor, the dims and both byte counts', () => {
    expect(() => decode(tensor('w', DataType.FLOAT, [2, 3], { rawData: new Uint8Array(20) }))).toThrow(
      "initializer 'w': raw_data has 20 bytes, but float dims [2, 3] need 24",
    );
    expect(() => decode(tensor('w', DataType.FLOAT16, [3], { int32Data: [1, 2] }))).toThrow(/'w': has 2 stored values, but float16 dims \[3\] need 3/);
  });
});
