/**
 * com.microsoft ops that the ONNX Runtime GenAI builder and transformers.js models use,
 * written as compositions of backend ops (semantics from onnxruntime's
 * docs/ContribOperators.md). Fused kernels can replace a composition later without
 * changing the op's contract.
 */
import type { Backend } from '../../tensor/backend.js';
import { Tensor } from '../../tensor/tensor.js';
import { attrFloat, attrInt, attrInts, input, int32Indices, scoped, type DeviceOp, type OpCall, type Own } from './types.js';

const scalar = (v: number) => new Tensor('float32', [v], []);

/** SimplifiedLayerNormalization (RMSNorm): outputs Y, inv_std_var. */
export const simplifiedLayerNorm: DeviceOp = (c) => {
  const x = input(c, 0, 'X');
  const axis = attrInt(c, 'axis', -1);
  if (axis !== -1 && axis !== x.rank - 1) throw new Error(`${c.where}: axis ${axis} is not supported yet (only the last axis is normalized)`);
  const r = c.backend.rmsNorm(x, input(c, 1, 'scale'), attrFloat(c, 'epsilon', 1e-5));
  return [r.y, r.invStd];
};

/** Adds the optional bias input to `x` (Skip*Norm and FastGelu carry one). */
function withBias(b: Backend, x: Tensor, bias: Tensor | undefined): Tensor {
  return bias ? b.binary('add', x, bias) : x;
}

/** SkipSimplifiedLayerNormalization: RMSNorm(input + skip [+ bias]); outputs output, mean (absent), inv_std_var, sum. */
export const skipSimplifiedLayerNorm: DeviceOp = scoped((c, own) => {
  const skip = own(withBias(c.backend, input(c, 1, 'skip'), c.inputs[3]));
  const r = c.backend.rmsNorm(input(c, 0, 'input'), input(c, 2, 'gamma'), attrFloat(c, 'epsilon', 1e-5), skip);
  return [r.y, undefined, r.invStd, r.sum];
});

/** SkipLayerNormalization: LayerNorm(input + skip [+ bias]) · gamma + beta; outputs output, mean, inv_std_var, sum. */
export const skipLayerNorm: DeviceOp = scoped((c, own) => {
  const skip = own(withBias(c.backend, input(c, 1, 'skip'), c.inputs[4]));
  const r = c.backend.layerNorm(input(c, 0, 'input'), input(c, 2, 'gamma'), c.inputs[3], attrFloat(c, 'epsilon', 1e-12), skip);
  return [r.y, r.mean, r.invStd, r.sum];
});

export const fastGelu: DeviceOp = scoped((c, own) => [c.backend.unary('gelu_tanh', own(withBias(c.backend, input(c, 0, 'X'), c.inputs[1])))]);

export const biasGelu: DeviceOp = scoped((c, own) => [c.backend.unary('gelu', own(withBias(c.backend, input(c, 0, 'A'), c.inputs[1])))]);

/** QuickGelu: x · sigmoid(alpha · x). */
export const quickGelu: DeviceOp = scoped((c, own) => {
  const x = input(c, 0, 'X');
  const s = own(c.backend.unary('sigmoid', own(c.backend.binary('mul', x, scalar(attrFloat(c, 'alpha', 1.702))))));
  return [c.backend.binary('mul', x, s)];
});

/**
 * Rotates the first `rotDim` features of x (..., D) by angle tables cos/sin, broadcastable
 * to (..., rotDim/2); features past rotDim pass through (partial rotary). Non-interleaved
 * (the Llama/HF layout): x1·cos − x2·sin ‖ x2·cos + x1·sin over the two halves;
 * interleaved (GPT-J): the same on pairs (x[2i], x[2i+1]).
 */
export function applyRotary(b: Backend, x: Tensor, cos: Tensor, sin: Tensor, rotDim: number, interleaved: boolean): Tensor {
  const last = x.rank - 1;
  const D = x.dims[last];
  const half = rotDim / 2;
  const tmp: Tensor[] = []; // intermediates made here, disposed at the end (views keep shared buffers alive)
  const own = (t: Tensor) => (tmp.push(t), t);
  const rot = rotDim === D ? x : own(b.slice(x, [0], [rotDim], [last]));
  // Interleaved pairs become a trailing axis of 2: (..., half, 2), angles (..., half, 1).
  const xs = interleaved ? own(b.reshape(rot, [...x.dims.slice(0, last), half, 2])) : rot;
  const ax = xs.rank - 1;
  const [c, s] = interleaved ? [cos, sin].map((t) => own(b.reshape(t, [...t.dims, 1]))) : [cos, sin];
  const x1 = own(interleaved ? b.slice(xs, [0], [1], [ax]) : b.slice(xs, [0], [half], [ax]));
  const x2 = own(interleaved ? b.slice(xs, [1], [2], [ax]) : b.slice(xs, [half], [rotDim], [ax]));
  const o1 = own(b.binary('sub', own(b.binary('mul', x1, c)), own(b.binary('mul', x2, s))));
  const o2 = own(b.binary('add', own(b.binary('mul', x2, c)), own(b.binary('mul', x1, s))));
  let out = b.concat([o1, o2], ax);
  if (interleaved) out = b.reshape(own(out), rot.dims);
  if (rotDim < D) out = b.concat([own(out), own(b.slice(x, [rotDim], [D], [last]))], last);
  for (const t of tmp) t.dispose();
  return out;
}

/**
 * RotaryEmbedding (non-interleaved, the Llama/HF layout): x1·cos − x2·sin ‖ x2·cos + x1·sin,
 * with cos/sin rows gathered by position_ids. Input (B, S, N·D) or (B, N, S, D).
 */
export const rotaryEmbedding: DeviceOp = scoped((c, own) => {
  if (attrInt(c, 'interleaved', 0) !== 0) throw new Error(`${c.where}: interleaved rotary embedding is not supported yet`);
  if (attrInt(c, 'is_packed_batching', 0) !== 0) throw new Error(`${c.where}: is_packed_batching = 1 is not supported yet`);
  if (attrFloat(c, 'scale', 1) !== 1) throw new Error(`${c.where}: scale ${attrFloat(c, 'scale', 1)} (position scaling) is not supported yet`);
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
  const xs = own(threeD ? b.reshape(x, [B, S, N, D]) : b.transpose(x, [0, 2, 1, 3])); // (B, S, N, D)
  const rows = (cache: Tensor) => own(b.reshape(own(b.gather(cache, pos, 0)), [B, S, 1, half])); // (B, S, 1, half)
  const out = own(applyRotary(b, xs, rows(cosCache), rows(input(c, 3, 'sin_cache')), D, false)); // (B, S, N, D)
  return [threeD ? b.reshape(out, x.dims) : b.transpose(out, [0, 2, 1, 3])];
});

/** (B, T, N·H) → (B, N, T, H). */
export function heads(b: Backend, x: Tensor, n: number): Tensor {
  const [B, T, C] = x.dims;
  const split = b.reshape(x, [B, T, n, C / n]);
  const y = b.transpose(split, [0, 2, 1, 3]);
  split.dispose(); // a view: disposing it releases only its hold on x's buffer
  return y;
}

/** (B, N, S, H) → (B, S, N·H). */
export function mergeHeads(b: Backend, o: Tensor): Tensor {
  const [B, N, S, H] = o.dims;
  const t = b.transpose(o, [0, 2, 1, 3]);
  const y = b.reshape(t, [B, S, N * H]);
  t.dispose(); // y is a view and keeps the buffer
  return y;
}

export interface AttendOptions {
  scale: number;
  /** Additive, broadcast to the scores (..., S, T). */
  bias?: Tensor;
  /** Mask key j > i + (T − S): causal with a KV-cache offset. */
  causal?: boolean;
  /** (B, T) keep-mask for padded keys (the backend softmax's keyMask). */
  keyMask?: Tensor;
  /** Gemma-style logit soft-capping: scores = c · tanh(scores / c), before masking. */
  softcap?: number;
}

/** softmax(q·kᵀ·scale [+ bias]) · v over q (..., S, H), k/v (..., T, H) with broadcast leading dims → (..., S, H). */
export function attendHeads(b: Backend, q: Tensor, k: Tensor, v: Tensor, o: AttendOptions): Tensor {
  const tmp: Tensor[] = [];
  const own = (t: Tensor) => (tmp.push(t), t);
  let scores = own(b.matmul(q, k, { transB: true, alpha: o.scale })); // (..., S, T)
  if (o.softcap && o.softcap > 0) {
    const c = scalar(o.softcap);
    scores = own(b.binary('mul', own(b.unary('tanh', own(b.binary('div', scores, c)))), c));
  }
  if (o.bias) scores = own(b.binary('add', scores, o.bias));
  const p = own(b.softmax(scores, { causal: o.causal, keyMask: o.keyMask }));
  const y = b.matmul(p, v);
  for (const t of tmp) t.dispose();
  return y;
}

/** softmax(q·kᵀ·scale + bias) · v over (B, N, S, ·); returns (B, S, N·H). */
function attend(b: Backend, q: Tensor, k: Tensor, v: Tensor, scale: number, bias: Tensor | undefined, causal: boolean): Tensor {
  const o = attendHeads(b, q, k, v, { scale, bias, causal }); // (B, N, S, H)
  const y = mergeHeads(b, o);
  o.dispose();
  return y;
}

/**
 * MultiHeadAttention with separate q, k, v (B, S, N·H), optional attention_bias (input 5,
 * additive, broadcast to (B, N, S, T)) and past_key / past_value (B, N, P, H).
 * Outputs: output (B, S, N·H), present_key, present_value.
 */
export const multiHeadAttention: DeviceOp = scoped((c, own) => {
  const b = c.backend;
  const n = attrInt(c, 'num_heads', 0);
  if (c.inputs[3]) throw new Error(`${c.where}: the packed bias input is not supported yet`);
  if (c.inputs[4]) throw new Error(`${c.where}: key_padding_mask is not supported yet (exporters here pass attention_bias)`);
  const q = own(heads(b, input(c, 0, 'query'), n));
  let k = own(heads(b, input(c, 1, 'key'), n));
  let v = own(heads(b, input(c, 2, 'value'), n));
  if (c.inputs[6]) k = b.concat([input(c, 6), k], 2);
  if (c.inputs[7]) v = b.concat([input(c, 7), v], 2);
  const scale = attrFloat(c, 'scale', 0) || 1 / Math.sqrt(q.dims[3]);
  const causal = attrInt(c, 'unidirectional', 0) === 1;
  return [attend(b, q, k, v, scale, c.inputs[5], causal), k, v];
});

/** mask (B, T) of 1/0 → additive (B, 1, 1, T) with `fill` where 0. */
/** (B, T) 1/0 mask → (B, 1, 1, T) additive bias: 0 where kept, `fill` where masked. */
export function maskBias(b: Backend, mask: Tensor, fill: number, own: Own): Tensor {
  const m = own(b.cast(mask.location === 'cpu' && mask.dtype === 'int64' ? toInt32(mask) : mask, 'float32'));
  const [B, T] = m.dims;
  const bias = own(b.binary('mul', own(b.binary('sub', scalar(1), m)), scalar(fill))); // 0 where kept
  return own(b.reshape(bias, [B, 1, 1, T]));
}

function toInt32(t: Tensor): Tensor {
  return new Tensor('int32', Int32Array.from(t.hostData<BigInt64Array>(), Number), t.dims);
}

/**
 * Attention (the fused GPT-2/BERT form): qkv = input·W + bias, split, optional
 * mask_index (B, T) of 1/0, past (2, B, N, P, H), unidirectional for causal models.
 * Outputs: output (B, S, N·H), present (2, B, N, P+S, H).
 */
export const attention: DeviceOp = scoped((c, own) => {
  refuseAttentionOptions(c);
  const b = c.backend;
  const n = attrInt(c, 'num_heads', 0);
  const x = input(c, 0, 'input');
  const qkv = own(b.matmul(x, input(c, 1, 'weights'), { bias: c.inputs[2] })); // (B, S, 3C)
  const C = qkv.dims[2] / 3;
  const part = (i: number) => own(heads(b, own(b.slice(qkv, [i * C], [(i + 1) * C], [2])), n)); // (B, N, S, H)
  const q = part(0);
  let k = part(1);
  let v = part(2);
  const past = c.inputs[4]; // (2, B, N, P, H)
  if (past && past.dims[3] > 0) {
    const half = (i: number) => own(b.reshape(own(b.slice(past, [i], [i + 1], [0])), past.dims.slice(1)));
    k = own(b.concat([half(0), k], 2));
    v = own(b.concat([half(1), v], 2));
  }
  const mask = c.inputs[3];
  if (mask && mask.rank !== 2) throw new Error(`${c.where}: mask_index of rank ${mask.rank} is not supported yet (rank 2 is)`);
  const fill = attrFloat(c, 'mask_filter_value', -10000);
  const bias = mask && maskBias(b, mask, Math.max(fill, -1e30), own);
  const scale = attrFloat(c, 'scale', 0) || 1 / Math.sqrt(q.dims[3]);
  const out = attend(b, q, k, v, scale, bias, attrInt(c, 'unidirectional', 0) === 1);
  const present = b.concat([own(b.reshape(k, [1, ...k.dims])), own(b.reshape(v, [1, ...v.dims]))], 0);
  return [out, present];
});

/** Attention inputs and attributes that change the result and are not implemented: refused, never ignored. */
function refuseAttentionOptions(c: OpCall): void {
  const unsupported = (what: string) => new Error(`${c.where}: ${what} is not supported yet`);
  if (c.inputs[5]) throw unsupported('attention_bias (input 5)');
  if (c.inputs[6]) throw unsupported('past_sequence_length (input 6)');
  if (attrInt(c, 'do_rotary', 0) !== 0) throw unsupported('do_rotary = 1');
  if (attrInt(c, 'past_present_share_buffer', 0) !== 0) throw unsupported('past_present_share_buffer = 1');
  const sizes = attrInts(c, 'qkv_hidden_sizes');
  if (sizes && !(sizes.length === 3 && sizes[0] === sizes[1] && sizes[1] === sizes[2])) throw unsupported(`qkv_hidden_sizes ${JSON.stringify(sizes)} (unequal Q, K, V sizes)`);
}

/**
 * EmbedLayerNormalization: LN(word[ids] + position[pos] + segment[seg]) · gamma + beta.
 * Outputs: output, mask_index (row sums of mask, int32), embedding_sum.
 */
export const embedLayerNorm: DeviceOp = scoped((c, own) => {
  const b = c.backend;
  const ids = int32Indices(c, input(c, 0, 'input_ids'));
  const [B, S] = ids.dims;
  const embed = (table: Tensor, at: Tensor) => own(b.gather(table, int32Indices(c, at), 0)); // (B, S, C)
  const posIds = c.inputs[8] ?? new Tensor('int32', Int32Array.from({ length: S }, (_, i) => i), [1, S]);
  let sum = own(b.binary('add', embed(input(c, 2, 'word_embedding'), ids), embed(input(c, 3, 'position_embedding'), posIds)));
  if (c.inputs[1] && c.inputs[4]) sum = own(b.binary('add', sum, embed(c.inputs[4], c.inputs[1])));
  const r = b.layerNorm(sum, input(c, 5, 'gamma'), c.inputs[6], attrFloat(c, 'epsilon', 1e-12));
  own(r.mean);
  own(r.invStd);
  const mask = c.inputs[7];
  const maskIndex = mask ? b.cast(own(b.reduce('sum', own(b.cast(mask, 'float32')), [1], false)), 'int32') : new Tensor('int32', new Int32Array(B), [B]);
  return [r.y, maskIndex, sum];
});
