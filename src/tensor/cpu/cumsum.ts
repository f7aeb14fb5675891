/**
 * cpu reference: ONNX CumSum. float32 sums run in float64 and are rounded on store;
 * int32 sums wrap like the device's i32 adds; int64 (host shape math, e.g. position ids
 * from an attention mask) stays int64 here, while webgpu narrows it to int32 on upload.
 */
import { Tensor, type DType } from '../tensor.js';
import { fmtDims, normalizeAxis } from '../shape.js';
import { toHost } from './common.js';

export interface CumsumGeometry {
  /** x viewed as (outer, len, inner) around `axis`. */
  outer: number;
  len: number;
  inner: number;
}

const CUMSUM_DTYPES: readonly DType[] = ['float32', 'int32', 'int64'];

/** Checks x and the axis; shared with webgpu. */
export function cumsumGeometry(x: Tensor, axis: number, what = 'cumsum'): CumsumGeometry {
  if (!CUMSUM_DTYPES.includes(x.dtype)) {
    throw new Error(`${what}: x must be float32 or int32 (int64 on the host), got ${x.dtype} ${fmtDims(x.dims)}`);
  }
  if (x.rank === 0) throw new Error(`${what}: x must have rank ≥ 1, got a scalar`);
  const a = normalizeAxis(axis, x.rank, `${what}: axis`);
  const outer = x.dims.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.dims.slice(a + 1).reduce((p, d) => p * d, 1);
  return { outer, len: x.dims[a], inner };
}

/**
 * y[.., j, ..] = Σ x[.., i, ..] over i ≤ j (i < j when exclusive; i ≥ j / i > j when
 * reverse), along `axis`.
 */
export function cumsum(x: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor {
  const { outer, len, inner } = cumsumGeometry(x, axis);
  const xs = toHost(x).hostData();
  if (x.dtype === 'int64') return new Tensor('int64', scanInt64(xs as BigInt64Array, outer, len, inner, exclusive, reverse), x.dims);
  const out = x.dtype === 'int32' ? new Int32Array(xs.length) : new Float32Array(xs.length);
  const wrap = x.dtype === 'int32' ? (v: number) => v | 0 : (v: number) => v;
  const src = xs as Float32Array | Int32Array;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let acc = 0;
      for (let step = 0; step < len; step++) {
        const j = reverse ? len - 1 - step : step;
        const at = (o * len + j) * inner + r;
        if (exclusive) {
          out[at] = acc;
          acc = wrap(acc + src[at]);
        } else {
          acc = wrap(acc + src[at]);
          out[at] = acc;
        }
      }
    }
  }
  return new Tensor(x.dtype, out, x.dims);
}

function scanInt64(src: BigInt64Array, outer: number, len: number, inner: number, exclusive: boolean, reverse: boolean): BigInt64Array {
  const out = new BigInt64Array(src.length);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      let acc = 0n;
      for (let step = 0; step < len; step++) {
        const at = (o * len + (reverse ? len - 1 - step : step)) * inner + r;
        const next = BigInt.asIntN(64, acc + src[at]);
        out[at] = exclusive ? acc : next;
        acc = next;
      }
    }
  }
  return out;
}
