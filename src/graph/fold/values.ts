/**
 * Host values for constant folding: small tensors as plain numbers, whatever their
 * dtype. Exporters build shapes with int64 Shape→Gather→Concat→Reshape chains; these
 * are evaluated once per input-shape signature here, never on the device.
 * int64 values become JS numbers: exact to 2^53, and the only larger values exporters
 * emit are INT64_MAX/MIN sentinels (Slice ends), which stay ordered and clamp the same.
 */
import { allocHost, f16BitsToF32, f32ToF16Bits, hostToNumbers, packInt4, Tensor, type DType } from '../../tensor/tensor.js';

export interface HostValue {
  dtype: DType;
  dims: number[];
  values: number[];
}

export async function fromTensor(t: Tensor): Promise<HostValue> {
  return { dtype: t.dtype, dims: [...t.dims], values: await t.toArray() };
}

/** Host tensors only (no readback): used where the folder must stay synchronous. */
export function fromHostTensor(t: Tensor): HostValue {
  return { dtype: t.dtype, dims: [...t.dims], values: hostToNumbers(t.dtype, t.hostData(), t.size) };
}

export function toTensor(v: HostValue): Tensor {
  const n = v.values.length;
  switch (v.dtype) {
    case 'int64':
      return new Tensor('int64', BigInt64Array.from(v.values, (x) => BigInt(clampInt64(x))), v.dims);
    case 'float16':
      return new Tensor('float16', Uint16Array.from(v.values, f32ToF16Bits), v.dims);
    case 'int4':
      return new Tensor('int4', packInt4(v.values), v.dims);
    default: {
      const data = allocHost(v.dtype, n) as Float32Array;
      for (let i = 0; i < n; i++) data[i] = v.values[i];
      return new Tensor(v.dtype, data, v.dims);
    }
  }
}

function clampInt64(x: number): bigint {
  if (x >= 9.2e18) return 9223372036854775807n;
  if (x <= -9.2e18) return -9223372036854775808n;
  return BigInt(Math.trunc(x));
}

/** Rounds a number the way storing it in `dtype` would. */
export function castValue(x: number, dtype: DType): number {
  switch (dtype) {
    case 'float32':
      return Math.fround(x);
    case 'float16':
      return f16BitsToF32(f32ToF16Bits(x));
    case 'bool':
      return x !== 0 ? 1 : 0;
    case 'int32':
      return Number.isFinite(x) ? Math.trunc(x) | 0 : 0;
    case 'int8':
      return (Math.trunc(x) << 24) >> 24;
    case 'uint8':
      return Math.trunc(x) & 0xff;
    case 'int4':
      return ((Math.trunc(x) & 0xf) << 28) >> 28;
    case 'int64':
      return Number.isFinite(x) ? Math.trunc(x) : 0;
  }
}

export const isIntegerType = (d: DType) => d !== 'float32' && d !== 'float16';

export function scalarOf(v: HostValue, what: string): number {
  if (v.values.length !== 1) throw new Error(`${what}: expected a scalar, got dims [${v.dims.join(', ')}]`);
  return v.values[0];
}
