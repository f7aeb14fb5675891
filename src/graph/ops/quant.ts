/**
 * Quantized weights: DequantizeLinear (ONNX opset 10–21, per tensor / per axis / blocked)
 * and com.microsoft MatMulNBits (blockwise 2/4/8-bit weights), over the backend's
 * `dequantize` / `dequantizeBlockwise`.
 *
 * A DequantizeLinear of an initializer is a 'const' node: the executor runs it once and
 * keeps the float weight. MatMulNBits takes its activation in the same node, so the node
 * itself runs every time; its dequantized weight is cached here per B tensor instead.
 */
import type { Backend } from '../../tensor/backend.js';
import { fmtDims } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { attrInt, input, type DeviceOp } from './types.js';

export const dequantizeLinear: DeviceOp = (c) => {
  const x = input(c, 0, 'x');
  const scale = input(c, 1, 'x_scale');
  const zp = c.inputs[2];
  // Before opset 13 there is no axis: the scale is per tensor.
  const axis = c.opset >= 13 ? attrInt(c, 'axis', 1) : 0;
  const block = c.opset >= 21 ? attrInt(c, 'block_size', 0) : 0;
  if (x.dtype === 'int32') return [dequantizeInt32(c.backend, x, scale, zp, axis, c.where)];
  return [c.backend.dequantize(x, scale, zp, axis, block)];
};

/**
 * int32 x (QDQ models' biases): the backends' dequantize takes 8- and 4-bit types, so this
 * is cast · scale with the scale broadcast along `axis`. ONNX allows no zero point here but 0.
 */
function dequantizeInt32(b: Backend, x: Tensor, scale: Tensor, zp: Tensor | undefined, axis: number, where: string): Tensor {
  if (zp && (zp.location !== 'cpu' || zp.hostData<Int32Array>().some((v) => v !== 0))) {
    throw new Error(`${where}: an int32 x takes no zero point other than 0`);
  }
  const xf = b.cast(x, 'float32');
  let s = scale;
  if (scale.size !== 1) {
    const a = axis < 0 ? axis + x.rank : axis;
    s = b.reshape(scale, x.dims.map((d, i) => (i === a ? d : 1)));
  }
  const y = b.binary('mul', xf, s);
  xf.dispose();
  if (s !== scale) s.dispose();
  return y;
}

interface CachedWeight {
  backend: Backend;
  scales: Tensor;
  zeroPoints: Tensor | undefined;
  w: Tensor;
}

/**
 * Dequantized MatMulNBits weights by their packed B. B is an initializer in every
 * exported model, so the same Tensor object comes back each run and the (N, K) float
 * weight is made once. The entry lives as long as B does (the executor's lifetime);
 * a B computed per run is not cached.
 */
const weights = new WeakMap<Tensor, CachedWeight>();

/** MatMulNBits: Y = A (…, K) · W(N, K)ᵀ (+ bias), W dequantized from B, scales, zero_points. */
export const matMulNBits: DeviceOp = (c) => {
  const a = input(c, 0, 'A');
  const K = attrInt(c, 'K', 0);
  const N = attrInt(c, 'N', 0);
  if (c.inputs[4]) throw new Error(`${c.where}: g_idx (act-order group indices) is not supported`);
  if (a.dims[a.rank - 1] !== K) throw new Error(`${c.where}: A ${fmtDims(a.dims)} must end in K = ${K}`);
  const bias = c.inputs[5];
  if (bias && (bias.rank !== 1 || bias.dims[0] !== N)) throw new Error(`${c.where}: bias ${fmtDims(bias.dims)} must be (${N})`);
  const w = nbitsWeight(c.backend, input(c, 1, 'B'), input(c, 2, 'scales'), c.inputs[3], N, K, attrInt(c, 'bits', 4), attrInt(c, 'block_size', 0));
  const y = c.backend.matmul(a, w.t, { transB: true, bias });
  if (!w.cached) w.t.dispose();
  return [y];
};

/**
 * The (N, K) float weight: the cached one, or a new one (`cached` false: the caller frees
 * it). `store` false leaves the cache as it is (the MatMulNBits gradient rule, whose B is
 * a handle of its own that would key an entry no one frees).
 */
export function nbitsWeight(
  b: Backend, packed: Tensor, scales: Tensor, zp: Tensor | undefined, n: number, k: number, bits: number, block: number, store = true,
): { t: Tensor; cached: boolean } {
  const hit = weights.get(packed);
  if (hit && hit.backend === b && hit.scales === scales && hit.zeroPoints === zp) return { t: hit.w, cached: true };
  const w = b.dequantizeBlockwise(packed, scales, zp, n, k, bits, block); // (N, K)
  // A host B is an initializer on a device backend; on the cpu backend a B computed per
  // run would also be cached, harmlessly (the entry goes with it).
  if (!store || packed.location !== 'cpu') return { t: w, cached: false };
  weights.set(packed, { backend: b, scales, zeroPoints: zp, w });
  return { t: w, cached: true };
}

/** Frees the dequantized weight cached for a packed B (the executor calls this when it is disposed). */
export function dropCachedWeight(packed: Tensor): void {
  const hit = weights.get(packed);
  if (!hit) return;
  weights.delete(packed);
  hit.w.dispose();
}
