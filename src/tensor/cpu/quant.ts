/**
 * cpu reference: DequantizeLinear (ONNX opset ≤ 21) and the weight dequantization of
 * com.microsoft MatMulNBits. (q − zero_point) · scale is an exact small integer times a
 * float32, so computing it in float64 and rounding once gives the correctly rounded
 * float32 product: this reference, onnxruntime and the WGSL kernel agree bit for bit.
 * CumSum and ScatterND live in ./cumsum.ts and ./scatterND.ts, re-exported here.
 */
import { Tensor, unpackInt4, type DType } from '../tensor.js';
import { fmtDims, normalizeAxis, sameDims } from '../shape.js';
import { f32, f32Tensor, toHost } from './common.js';

export { cumsum } from './cumsum.js';
export { scatterND } from './scatterND.js';

// ── DequantizeLinear ─────────────────────────────────────────────

export interface DequantGeometry {
  /** 'tensor': one scale; 'axis': scale (len); 'block': scale is x's shape with len → ⌈len / blockSize⌉. */
  mode: 'tensor' | 'axis' | 'block';
  /** x viewed as (outer, len, inner) around the axis (len = size, inner = 1 per tensor). */
  outer: number;
  len: number;
  inner: number;
  /** Elements of `len` sharing one scale (1 per axis, len per tensor). */
  blockSize: number;
  /** ⌈len / blockSize⌉: scales along the axis. */
  blocks: number;
}

export const QUANT_DTYPES: readonly DType[] = ['int8', 'uint8', 'int4'];

/** Checks x, scale, zero point, axis and block size; shared with webgpu. */
export function dequantGeometry(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number, blockSize = 0, what = 'dequantize'): DequantGeometry {
  if (!QUANT_DTYPES.includes(x.dtype)) throw new Error(`${what}: x must be int8, uint8 or int4, got ${x.dtype} ${fmtDims(x.dims)}`);
  if (scale.dtype !== 'float32') throw new Error(`${what}: scale must be float32, got ${scale.dtype} ${fmtDims(scale.dims)}`);
  const zpFits = (z: Tensor) => z.dtype === x.dtype && (sameDims(z.dims, scale.dims) || (z.size === 1 && scale.size === 1));
  if (zeroPoint && !zpFits(zeroPoint)) {
    throw new Error(`${what}: zero point ${zeroPoint.dtype} ${fmtDims(zeroPoint.dims)} must be ${x.dtype} shaped like scale ${fmtDims(scale.dims)}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 0) throw new Error(`${what}: blockSize ${blockSize} must be an integer ≥ 0`);
  if (blockSize === 0 && scale.size === 1 && scale.rank <= 1) {
    return { mode: 'tensor', outer: 1, len: x.size, inner: 1, blockSize: Math.max(1, x.size), blocks: 1 };
  }
  if (x.rank === 0) throw new Error(`${what}: a scalar x needs a scalar scale, got ${fmtDims(scale.dims)}`);
  const a = normalizeAxis(axis, x.rank, `${what}: axis`);
  const outer = x.dims.slice(0, a).reduce((p, d) => p * d, 1);
  const inner = x.dims.slice(a + 1).reduce((p, d) => p * d, 1);
  const len = x.dims[a];
  if (blockSize === 0) {
    if (scale.rank !== 1 || scale.dims[0] !== len) {
      throw new Error(`${what}: per-axis scale must be (${len}) = x ${fmtDims(x.dims)} along axis ${a}, got ${fmtDims(scale.dims)}`);
    }
    return { mode: 'axis', outer, len, inner, blockSize: 1, blocks: len };
  }
  const blocks = Math.ceil(len / blockSize);
  const want = x.dims.map((d, i) => (i === a ? blocks : d));
  if (scale.rank !== want.length || want.some((d, i) => d !== scale.dims[i])) {
    throw new Error(`${what}: blocked scale must be ${fmtDims(want)} (x ${fmtDims(x.dims)} with ⌈${len}/${blockSize}⌉ blocks along axis ${a}), got ${fmtDims(scale.dims)}`);
  }
  return { mode: 'block', outer, len, inner, blockSize, blocks };
}

/** Quantized values as plain integers (int4 unpacked, sign-extended). */
function intValues(t: Tensor): ArrayLike<number> {
  const d = toHost(t).hostData();
  return t.dtype === 'int4' ? unpackInt4(d as Uint8Array, t.size, true) : (d as Int8Array | Uint8Array);
}

/** y = (x − zeroPoint) · scale, float32 with x's dims. */
export function dequantize(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number, blockSize?: number): Tensor {
  const g = dequantGeometry(x, scale, zeroPoint, axis, blockSize ?? 0);
  const q = intValues(x);
  const s = f32(scale, 'dequantize scale');
  const z = zeroPoint ? intValues(zeroPoint) : undefined;
  const y = new Float32Array(x.size);
  for (let o = 0; o < g.outer; o++) {
    for (let d = 0; d < g.len; d++) {
      // Scale index: its own (outer, blocks, inner) layout; per tensor / per axis collapse it.
      const blk = Math.floor(d / g.blockSize);
      for (let r = 0; r < g.inner; r++) {
        const si = g.mode === 'tensor' ? 0 : g.mode === 'axis' ? d : (o * g.blocks + blk) * g.inner + r;
        const i = (o * g.len + d) * g.inner + r;
        y[i] = (q[i] - (z ? z[si] : 0)) * s[si];
      }
    }
  }
  return f32Tensor(y, x.dims);
}

// ── MatMulNBits weights ──────────────────────────────────────────

export interface BlockwiseGeometry {
  /** ⌈K / blockSize⌉ blocks per output row n. */
  blocks: number;
  /** Bytes per block: blockSize · bits / 8. */
  blob: number;
  /** Zero points: 'packed' uint8 like B, 'float' one float32 per block, or 'none' (2^(bits−1)). */
  zp: 'none' | 'packed' | 'float';
  /** Bytes per row of packed zero points: ⌈blocks · bits / 8⌉. */
  zpRow: number;
}

/**
 * Checks MatMulNBits' layout (onnxruntime docs/ContribOperators.md, com.microsoft.MatMulNBits):
 * B uint8 (N, k_blocks, blob_size) with k_blocks = ⌈K / block_size⌉ and blob_size =
 * block_size · bits / 8; scales (N, k_blocks); zero_points either packed uint8
 * (N, ⌈k_blocks · bits / 8⌉) "using the same bit-packing method as B", or unpacked
 * floats (N, k_blocks). Shared with webgpu.
 */
export function blockwiseGeometry(b: Tensor, scales: Tensor, zeroPoints: Tensor | undefined, n: number, k: number, bits: number, blockSize: number, what = 'dequantizeBlockwise'): BlockwiseGeometry {
  if (bits !== 2 && bits !== 4 && bits !== 8) throw new Error(`${what}: bits ${bits} is not supported (2, 4 or 8)`);
  if (!Number.isInteger(n) || !Number.isInteger(k) || n < 1 || k < 1) throw new Error(`${what}: N ${n} and K ${k} must be integers ≥ 1`);
  if (!Number.isInteger(blockSize) || blockSize < 1 || (blockSize * bits) % 8 !== 0) {
    throw new Error(`${what}: block size ${blockSize} must be a positive integer with block_size · bits a whole number of bytes`);
  }
  const blocks = Math.ceil(k / blockSize);
  const blob = (blockSize * bits) / 8;
  if (b.dtype !== 'uint8' || b.size !== n * blocks * blob || (b.rank === 3 && (b.dims[0] !== n || b.dims[1] !== blocks))) {
    throw new Error(`${what}: B must be uint8 (${n}, ${blocks}, ${blob}) for N=${n}, K=${k}, bits=${bits}, block_size=${blockSize}; got ${b.dtype} ${fmtDims(b.dims)}`);
  }
  if (scales.dtype !== 'float32' || scales.size !== n * blocks) {
    throw new Error(`${what}: scales must be float32 with N·k_blocks = ${n * blocks} elements, got ${scales.dtype} ${fmtDims(scales.dims)}`);
  }
  const zpRow = Math.ceil((blocks * bits) / 8);
  if (!zeroPoints) return { blocks, blob, zp: 'none', zpRow };
  if (zeroPoints.dtype === 'uint8' && zeroPoints.size === n * zpRow) return { blocks, blob, zp: 'packed', zpRow };
  if (zeroPoints.dtype === 'float32' && zeroPoints.size === n * blocks) return { blocks, blob, zp: 'float', zpRow };
  throw new Error(
    `${what}: zero points must be uint8 packed (${n}, ${zpRow}) or float32 (${n}, ${blocks}); got ${zeroPoints.dtype} ${fmtDims(zeroPoints.dims)}`,
  );
}

/** The `bits`-wide field number `e` of a byte array, fields packed low bits first. */
function field(bytes: Uint8Array, e: number, bits: number): number {
  const perByte = 8 / bits;
  return (bytes[Math.floor(e / perByte)] >> ((e % perByte) * bits)) & ((1 << bits) - 1);
}

/** MatMulNBits' B → float32 (N, K): w[n, k] = (q − zp) · scale of k's block in row n. */
export function dequantizeBlockwise(b: Tensor, scales: Tensor, zeroPoints: Tensor | undefined, n: number, k: number, bits: number, blockSize: number): Tensor {
  const g = blockwiseGeometry(b, scales, zeroPoints, n, k, bits, blockSize);
  const bytes = toHost(b).hostData<Uint8Array>();
  const s = f32(scales, 'dequantizeBlockwise scales');
  const zq = g.zp === 'packed' ? toHost(zeroPoints!).hostData<Uint8Array>() : undefined;
  const zf = g.zp === 'float' ? f32(zeroPoints!, 'dequantizeBlockwise zero points') : undefined;
  const perRow = g.blocks * blockSize; // fields per row of B, including the last block's padding
  const y = new Float32Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < g.blocks; blk++) {
      const sb = row * g.blocks + blk;
      const zp = zq ? field(zq, row * g.zpRow * (8 / bits) + blk, bits) : zf ? zf[sb] : 2 ** (bits - 1);
      for (let c = blk * blockSize; c < Math.min(k, (blk + 1) * blockSize); c++) {
        y[row * k + c] = (field(bytes, row * perRow + c, bits) - zp) * s[sb];
      }
    }
  }
  return f32Tensor(y, [n, k]);
}
