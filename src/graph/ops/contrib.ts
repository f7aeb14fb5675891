/**
 * com.microsoft ops that the ONNX Runtime GenAI builder and transformers.js models use,
 * written as compositions of backend ops (semantics from onnxruntime's
 * docs/ContribOperators.md). Fused kernels can replace a composition later without
 * changing the op's contract.
 */
import type { Backend } from '../../tensor/backend.js';
import { Tensor } from '../../tensor/tensor.js';
import { attrFloat, attrInt, input, int32Indices, type DeviceOp } from './types.js';

const scalar = (v: number) => new Tensor('float32', [v], []);

/** SimplifiedLayerNormalization (RMSNorm): outputs Y, inv_std_var. */
export const simplifiedLayerNorm: DeviceOp = (c) => {
  const r = c.backend.rmsNorm(input(c, 0, 'X'), input(c, 1, 'scale'), attrFloat(c, 'epsilon', 1e-5));
  return [r.y, r.invStd];
};

/** Adds the optional bias input to `x` (Skip*Norm and FastGelu carry one). */
function withBias(b: Backend, x: Tensor, bias: Tensor | undefined): Tensor {
  return bias ? b.binary('add', x, bias) : x;
}

/** SkipSimplifiedLayerNormalization: RMSNorm(input + skip [+ bias]); outputs output, mean (absent), inv_std_var, sum. */
export const skipSimplifiedLayerNorm: DeviceOp = (c) => {
  const skip = withBias(c.backend, input(c, 1, 'skip'), c.inputs[3]);
  const r = c.backend.rmsNorm(input(c, 0, 'input'), input(c, 2, 'gamma'), attrFloat(c, 'epsilon', 1e-5), skip);
  return [r.y, undefined, r.invStd, r.sum];
};

/** SkipLayerNormalization: LayerNorm(input + skip [+ bias]) · gamma + beta; outputs output, mean, inv_std_var, sum. */
export const skipLayerNorm: DeviceOp = (c) => {
  const skip = withBias(c.backend, input(c, 1, 'skip'), c.inputs[4]);
  const r = c.backend.layerNorm(input(c, 0, 'input'), input(c, 2, 'gamma'), c.inputs[3], attrFloat(c, 'epsilon', 1e-12), skip);
  return [r.y, r.mean, r.invStd, r.sum];
};

export const fastGelu: DeviceOp = (c) => [c.backend.unary('gelu_tanh', withBias(c.backend, input(c, 0, 'X'), c.inputs[1]))];

export const biasGelu: DeviceOp = (c) => [c.backend.unary('gelu', withBias(c.backend, input(c, 0, 'A'), c.inputs[1]))];

/** QuickGelu: x · sigmoid(alpha · x). */
export const quickGelu: DeviceOp = (c) => {
  const x = input(c, 0, 'X');
  const s = c.backend.unary('sigmoid', c.backend.binary('mul', x, scalar(attrFloat(c, 'alpha', 1.702))));
  return [c.backend.binary('mul', x, s)];
};

/**
 * RotaryEmbedding (non-interleaved, the Llama/HF layout): x1·cos − x2·sin ‖ x2·cos + x1·sin,
 * with cos/sin rows gathered by position_ids. Input (B, S, N·D) or (B, N, S, D).
 */
export const rotaryEmbedding: DeviceOp = (c) => {
  if (attrInt(c, 'interleaved', 0) !== 0) throw new Error(`${c.where}: interleaved rotary embedding is not supported yet`);
  const b = c.backend;
  const x = input(c, 0, 'input');
  const cosCache = input(c, 2, 'cos_cache'); // (max_pos, half)
  const half = cosCache.dims[1];
  const rotDim = attrInt(c, 'rotary_embedding_dim', 0) || 2 * half;
  if (rotDim !== 2 * half) throw new Error(`${c.where}: partial rotary (rotary_embedding_dim ${rotDim} < head size) is not supported yet`);
  const pos = int32Indices(c, input(c, 1, 'position_ids')); // (B, S)
  const threeD = x.rank === 3;
  const [B, S] = threeD ? [x.dims[0], x.dims[1]] : [x.dims[0], x.dims[2]];
  const D = threeD ? rotDim : x.dims[3];
  const N = threeD ? x.dims[2] / D : x.dims[1];
  const xs = threeD ? b.reshape(x, [B, S, N, D]) : b.transpose(x, [0, 2, 1, 3]); // (B, S, N, D)
  const rows = (cache: Tensor) => b.reshape(b.gather(cache, pos, 0), [B, S, 1, half]); // (B, S, 1, half)
  const cos = rows(cosCache);
  const sin = rows(input(c, 3, 'sin_cache'));
  const x1 = b.slice(xs, [0], [half], [3]);
  const x2 = b.slice(xs, [half], [D], [3]);
  const o1 = b.binary('sub', b.binary('mul', x1, cos), b.binary('mul', x2, sin));
  const o2 = b.binary('add', b.binary('mul', x2, cos), b.binary('mul', x1, sin));
  const out = b.concat([o1, o2], 3); // (B, S, N, D)
  for (const t of [cos, sin, x1, x2, o1, o2]) t.dispose();
  return [threeD ? b.reshape(out, x.dims) : b.transpose(out, [0, 2, 1, 3])];
};

/** (B, T, N·H) → (B, N, T, H). */
function heads(b: Backend, x: Tensor, n: number): Tensor {
  const [B, T, C] = x.dims;
  return b.transpose(b.reshape(x, [B, T, n, C / n]), [0, 2, 1, 3]);
}

/** softmax(q·kᵀ·scale + bias) · v over (B, N, S, ·); returns (B, S, N·H). */
function attend(b: Backend, q: Tensor, k: Tensor, v: Tensor, scale: number, bias: Tensor | undefined, causal: boolean): Tensor {
  const scores = b.matmul(q, k, { transB: true, alpha: scale }); // (B, N, S, T)
  const biased = bias ? b.binary('add', scores, bias) : scores;
  const p = b.softmax(biased, { causal });
  const o = b.matmul(p, v); // (B, N, S, H)
  const [B, N, S, H] = o.dims;
  return b.reshape(b.transpose(o, [0, 2, 1, 3]), [B, S, N * H]);
}

/**
 * MultiHeadAttention with separate q, k, v (B, S, N·H), optional attention_bias (input 5,
 * additive, broadcast to (B, N, S, T)) and past_key / past_value (B, N, P, H).
 * Outputs: output (B, S, N·H), present_key, present_value.
 */
export const multiHeadAttention: DeviceOp = (c) => {
  const b = c.backend;
  const n = attrInt(c, 'num_heads', 0);
  if (c.inputs[3]) throw new Error(`${c.where}: the packed bias input is not supported yet`);
  if (c.inputs[4]) throw new Error(`${c.where}: key_padding_mask is not supported yet (exporters here pass attention_bias)`);
  const q = heads(b, input(c, 0, 'query'), n);
  let k = heads(b, input(c, 1, 'key'), n);
  let v = heads(b, input(c, 2, 'value'), n);
  if (c.inputs[6]) k = b.concat([input(c, 6), k], 2);
  if (c.inputs[7]) v = b.concat([input(c, 7), v], 2);
  const scale = attrFloat(c, 'scale', 0) || 1 / Math.sqrt(q.dims[3]);
  const causal = attrInt(c, 'unidirectional', 0) === 1;
  return [attend(b, q, k, v, scale, c.inputs[5], causal), k, v];
};

/** mask (B, T) of 1/0 → additive (B, 1, 1, T) with `fill` where 0. */
function maskBias(b: Backend, mask: Tensor, fill: number): Tensor {
  const m = b.cast(mask.location === 'cpu' && mask.dtype === 'int64' ? toInt32(mask) : mask, 'float32');
  const [B, T] = m.dims;
  const bias = b.binary('mul', b.binary('sub', scalar(1), m), scalar(fill)); // 0 where kept
  return b.reshape(bias, [B, 1, 1, T]);
}

function toInt32(t: Tensor): Tensor {
  return new Tensor('int32', Int32Array.from(t.hostData<BigInt64Array>(), Number), t.dims);
}

/**
 * Attention (the fused GPT-2/BERT form): qkv = input·W + bias, split, optional
 * mask_index (B, T) of 1/0, past (2, B, N, P, H), unidirectional for causal models.
 * Outputs: output (B, S, N·H), present (2, B, N, P+S, H).
 */
export const attention: DeviceOp = (c) => {
  const b = c.backend;
  const n = attrInt(c, 'num_heads', 0);
  const x = input(c, 0, 'input');
  const qkv = b.matmul(x, input(c, 1, 'weights'), { bias: c.inputs[2] }); // (B, S, 3C)
  const C = qkv.dims[2] / 3;
  const part = (i: number) => heads(b, b.slice(qkv, [i * C], [(i + 1) * C], [2]), n);
  const q = part(0);
  let k = part(1);
  let v = part(2);
  const past = c.inputs[4];
  if (past && past.dims[3] > 0) {
    k = b.concat([b.reshape(b.slice(past, [0], [1], [0]), past.dims.slice(1)), k], 2);
    v = b.concat([b.reshape(b.slice(past, [1], [2], [0]), past.dims.slice(1)), v], 2);
  }
  const mask = c.inputs[3];
  if (mask && mask.rank !== 2) throw new Error(`${c.where}: mask_index of rank ${mask.rank} is not supported yet (rank 2 is)`);
  const fill = attrFloat(c, 'mask_filter_value', -10000);
  const bias = mask && maskBias(b, mask, Math.max(fill, -1e30));
  const out = attend(b, q, k, v, 1 / Math.sqrt(q.dims[3]), bias, attrInt(c, 'unidirectional', 0) === 1);
  const present = b.concat([b.reshape(k, [1, ...k.dims]), b.reshape(v, [1, ...v.dims])], 0);
  return [out, present];
};

/**
 * EmbedLayerNormalization: LN(word[ids] + position[pos] + segment[seg]) · gamma + beta.
 * Outputs: output, mask_index (row sums of mask, int32), embedding_sum.
 */
export const embedLayerNorm: DeviceOp = (c) => {
  const b = c.backend;
  const ids = int32Indices(c, input(c, 0, 'input_ids'));
  const [B, S] = ids.dims;
  let sum = b.gather(input(c, 2, 'word_embedding'), ids, 0); // (B, S, C)
  const posIds = c.inputs[8] ? int32Indices(c, c.inputs[8]) : new Tensor('int32', Int32Array.from({ length: S }, (_, i) => i), [1, S]);
  sum = b.binary('add', sum, b.gather(input(c, 3, 'position_embedding'), posIds, 0));
  if (c.inputs[1] && c.inputs[4]) sum = b.binary('add', sum, b.gather(c.inputs[4], int32Indices(c, c.inputs[1]), 0));
  const r = b.layerNorm(sum, input(c, 5, 'gamma'), c.inputs[6], attrFloat(c, 'epsilon', 1e-12));
  const mask = c.inputs[7];
  const maskIndex = mask ? b.cast(b.reduce('sum', b.cast(mask, 'float32'), [1], false), 'int32') : new Tensor('int32', new Int32Array(B), [B]);
  return [r.y, maskIndex, sum];
};
