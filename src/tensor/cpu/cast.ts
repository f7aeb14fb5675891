/**
 * cpu reference: ONNX Cast between float32, float16, int32, int64 and bool.
 * float → int truncates toward zero (NaN → 0, out of range saturates: ONNX leaves it
 * undefined, kernels/cast.wgsl does the same); → bool is x ≠ 0 (NaN → true);
 * → float16 rounds to nearest even with f32ToF16Bits, after rounding to float32.
 */
import { Tensor, f16BitsToF32, f32ToF16Bits, type DType, type HostData } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { toHost } from './common.js';

const CASTABLE: readonly DType[] = ['float32', 'float16', 'int32', 'int64', 'bool'];

const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** Element values as numbers (float16 decoded, int64 as a number). */
function values(t: Tensor): ArrayLike<number> {
  const d = toHost(t).hostData();
  if (t.dtype === 'float16') return Array.from(d as Uint16Array, f16BitsToF32);
  if (t.dtype === 'int64') return Array.from(d as BigInt64Array, Number);
  return d as ArrayLike<number>;
}

/** float → integer: truncate, NaN → 0, saturate to [lo, hi]. */
function toInt(v: number, lo: number, hi: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.min(hi, Math.max(lo, Math.trunc(v)));
}

function convert(v: ArrayLike<number>, from: DType, to: DType): HostData {
  const n = v.length;
  const isFloat = from === 'float32' || from === 'float16';
  switch (to) {
    case 'float32':
      return Float32Array.from(v);
    case 'float16': {
      // Through float32 first, as the device does (an int32 above 2^24 rounds twice).
      const f = Float32Array.from(v);
      return Uint16Array.from(f, f32ToF16Bits);
    }
    case 'int32':
      return isFloat ? Int32Array.from(v, (x) => toInt(x, INT32_MIN, INT32_MAX)) : Int32Array.from(v);
    case 'int64': {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = BigInt(isFloat ? toInt(v[i], -(2 ** 63), 2 ** 63 - 1024) : v[i]);
      return out;
    }
    case 'bool':
      return Uint8Array.from(v, (x) => (x !== 0 ? 1 : 0));
    default:
      throw new Error(`unreachable cast to ${to}`);
  }
}

export function cast(x: Tensor, to: DType): Tensor {
  if (!CASTABLE.includes(x.dtype) || !CASTABLE.includes(to)) {
    throw new Error(`cast: ${x.dtype} ${fmtDims(x.dims)} → ${to} is not supported (supported: ${CASTABLE.join(', ')})`);
  }
  // Same dtype: a copy of the bits (a float16 NaN keeps its payload).
  if (to === x.dtype) return new Tensor(to, toHost(x).hostData().slice() as HostData, x.dims);
  return new Tensor(to, convert(values(x), x.dtype, to), x.dims);
}
