/**
 * com.microsoft GroupQueryAttention (onnxruntime docs/ContribOperators.md; CPU kernel
 * contrib_ops/cpu/bert/group_query_attention.cc) as a composition of backend ops.
 *
 * Inputs: query (B, S, N·H) — or packed (B, S, (N + 2·Nkv)·H) with key/value absent —
 * key, value (B, S, Nkv·H), past_key / past_value (B, Nkv, P, H), seqlens_k (B) int32
 * (total length − 1 per row), total_sequence_length (scalar int32), cos_cache /
 * sin_cache (max_pos, rotary_dim / 2) used when do_rotary = 1.
 * Outputs: output (B, S, N·H), present_key / present_value (B, Nkv, max(T, P), H).
 *
 * Every row has past length T − S (T = total_sequence_length): present = past[:T−S] ‖ new
 * ‖ zeros up to max(T, P), as onnxruntime writes it when past and present are separate
 * buffers; query s sits at position T − S + s (rotary angles and the causal offset).
 * Query head n reads KV head n / (N / Nkv). Rows of different lengths (right padding)
 * are supported in the prompt (S = T), where they only mask keys; in decoding they would
 * need a per-row write position, so host seqlens_k that differ are refused there.
 */
import type { Backend } from '../../tensor/backend.js';
import { fmtDims } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { scalarOf } from '../fold/values.js';
import { applyRotary, attendHeads, heads, mergeHeads } from './contrib.js';
import { attrFloat, attrInt, hostInput, input, type DeviceOp, type OpCall } from './types.js';

const UNSUPPORTED_INPUTS: [number, string][] = [[9, 'position_ids'], [10, 'attention_bias'], [11, 'head_sink']];

export const groupQueryAttention: DeviceOp = (c) => {
  const b = c.backend;
  const N = attrInt(c, 'num_heads', 0);
  const Nkv = attrInt(c, 'kv_num_heads', 0);
  if (N < 1 || Nkv < 1 || N % Nkv !== 0) throw new Error(`${c.where}: num_heads ${N} must be a positive multiple of kv_num_heads ${Nkv}`);
  for (const [i, name] of UNSUPPORTED_INPUTS) if (c.inputs[i]) throw new Error(`${c.where}: input ${i} (${name}) is not supported yet`);
  if (attrInt(c, 'smooth_softmax', 0) !== 0) throw new Error(`${c.where}: smooth_softmax is not supported yet`);
  if (attrInt(c, 'qk_output', 0) !== 0) throw new Error(`${c.where}: qk_output is not supported`);

  const [q, k, v, H] = splitQkv(c, N, Nkv);
  const [B, S] = q.dims;
  const T = scalarOf(hostInput(c, 6, 'total_sequence_length') ?? absent(c, 'total_sequence_length'), `${c.where} total_sequence_length`);
  const pastKey = c.inputs[3];
  const pastValue = c.inputs[4];
  if (!pastKey !== !pastValue) throw new Error(`${c.where}: past_key and past_value must both be given or both omitted`);
  const P = pastKey ? pastKey.dims[2] : 0;
  const pastLen = T - S;
  if (pastLen < 0 || pastLen > P) {
    throw new Error(`${c.where}: total_sequence_length ${T} with sequence_length ${S} needs ${pastLen} past positions, but past_key has ${P}`);
  }
  const keyMask = paddingMask(c, B, S, T);

  let qh = heads(b, q, N); // (B, N, S, H)
  let kh = heads(b, k, Nkv); // (B, Nkv, S, H)
  const vh = heads(b, v, Nkv);
  if (attrInt(c, 'do_rotary', 0) === 1) [qh, kh] = rotate(c, qh, kh, pastLen, T);

  const presentKey = present(b, pastKey, kh, pastLen, Math.max(T, P));
  const presentValue = present(b, pastValue, vh, pastLen, Math.max(T, P));
  // The keys in use: the first T positions of present (the rest is zero padding).
  const kUsed = presentKey.dims[2] === T ? presentKey : b.slice(presentKey, [0], [T], [2]);
  const vUsed = presentValue.dims[2] === T ? presentValue : b.slice(presentValue, [0], [T], [2]);
  const G = N / Nkv;
  // Query heads grouped under their KV head: (B, Nkv, G, S, H) against (B, Nkv, 1, T, H).
  const q5 = b.reshape(qh, [B, Nkv, G, S, H]);
  const k5 = b.reshape(kUsed, [B, Nkv, 1, T, H]);
  const v5 = b.reshape(vUsed, [B, Nkv, 1, T, H]);
  const o = attendHeads(b, q5, k5, v5, {
    scale: attrFloat(c, 'scale', 0) || 1 / Math.sqrt(H),
    causal: true,
    keyMask,
    softcap: attrFloat(c, 'softcap', 0),
    bias: windowBias(attrInt(c, 'local_window_size', -1), S, T, pastLen),
  }); // (B, Nkv, G, S, H)
  const o4 = b.reshape(o, [B, N, S, H]);
  const out = mergeHeads(b, o4);
  const temps = [q5, k5, v5, o, o4, qh, kh, vh, keyMask, ...(c.inputs[1] ? [] : [q, k, v])];
  if (kUsed !== presentKey) temps.push(kUsed, vUsed);
  for (const t of temps) t?.dispose();
  return [out, presentKey, presentValue];
};

/** query, key, value (B, S, ·) and the head size, from separate or packed inputs. */
function splitQkv(c: OpCall, N: number, Nkv: number): [Tensor, Tensor, Tensor, number] {
  const query = input(c, 0, 'query');
  if (query.rank !== 3) throw new Error(`${c.where}: query must be (B, S, hidden), got ${fmtDims(query.dims)}`);
  const [key, value] = [c.inputs[1], c.inputs[2]];
  if (!key !== !value) throw new Error(`${c.where}: key and value must both be given, or both omitted (packed QKV)`);
  if (key && value) return [query, key, value, query.dims[2] / N];
  const H = query.dims[2] / (N + 2 * Nkv);
  if (!Number.isInteger(H)) throw new Error(`${c.where}: packed query ${fmtDims(query.dims)} is not (B, S, (N + 2·Nkv)·H) for N ${N}, Nkv ${Nkv}`);
  const part = (from: number, to: number) => c.backend.slice(query, [from * H], [to * H], [2]);
  return [part(0, N), part(N, N + Nkv), part(N + Nkv, N + 2 * Nkv), H];
}

/**
 * (B, T) keep-mask for right-padded rows, or undefined when every row has length T.
 * seqlens_k on the device cannot be read here (ops are synchronous): in the prompt it
 * becomes a device mask; in decoding the rows are taken to be of equal length.
 */
export function paddingMask(c: OpCall, B: number, S: number, T: number): Tensor | undefined {
  const lens = input(c, 5, 'seqlens_k');
  if (lens.size !== B) throw new Error(`${c.where}: seqlens_k must be (${B}), got ${fmtDims(lens.dims)}`);
  const positions = new Tensor('int32', Int32Array.from({ length: T }, (_, j) => j), [1, T]);
  if (lens.location !== 'cpu') {
    if (S !== T) return undefined; // decoding: assumed uniform, see above
    const lastPos = c.backend.reshape(lens, [B, 1]); // a view of the input, released below
    const keep = c.backend.binary('less_equal', positions, lastPos);
    lastPos.dispose();
    return keep;
  }
  const last = hostInput(c, 5, 'seqlens_k')!.values;
  if (last.every((l) => l === T - 1)) return undefined;
  if (S !== T) {
    throw new Error(
      `${c.where}: rows of different lengths (seqlens_k [${last.join(', ')}], total_sequence_length ${T}) are supported in the prompt only, not with ${S} new token(s) after a past`,
    );
  }
  const keep = new Int32Array(B * T).map((_, i) => +(i % T <= last[Math.floor(i / T)]));
  return new Tensor('int32', keep, [B, T]);
}

/** Rotary embedding of q and k (BNSH) at positions T − S … T − 1. */
function rotate(c: OpCall, qh: Tensor, kh: Tensor, pastLen: number, T: number): [Tensor, Tensor] {
  const b = c.backend;
  const cosCache = input(c, 7, 'cos_cache');
  const sinCache = input(c, 8, 'sin_cache');
  const half = cosCache.dims[1];
  if (cosCache.dims[0] < T || sinCache.dims[0] < T || sinCache.dims[1] !== half || 2 * half > qh.dims[3]) {
    throw new Error(`${c.where}: cos_cache ${fmtDims(cosCache.dims)} / sin_cache ${fmtDims(sinCache.dims)} must be (≥ ${T}, ≤ head size / 2)`);
  }
  const S = qh.dims[2];
  const pos = new Tensor('int32', Int32Array.from({ length: S }, (_, s) => pastLen + s), [S]);
  const cos = b.gather(cosCache, pos, 0); // (S, half): broadcast over (B, N)
  const sin = b.gather(sinCache, pos, 0);
  const interleaved = attrInt(c, 'rotary_interleaved', 0) === 1;
  const out: [Tensor, Tensor] = [applyRotary(b, qh, cos, sin, 2 * half, interleaved), applyRotary(b, kh, cos, sin, 2 * half, interleaved)];
  for (const t of [cos, sin, qh, kh]) t.dispose();
  return out;
}

/** past[:pastLen] ‖ new ‖ zeros, `len` positions along axis 2. */
function present(b: Backend, past: Tensor | undefined, x: Tensor, pastLen: number, len: number): Tensor {
  const [B, Nkv, S, H] = x.dims;
  const parts: Tensor[] = [];
  if (past && pastLen > 0) parts.push(past.dims[2] === pastLen ? past : b.slice(past, [0], [pastLen], [2]));
  parts.push(x);
  if (len > pastLen + S) parts.push(b.zeros('float32', [B, Nkv, len - pastLen - S, H]));
  // Always a new tensor: present is a graph output, owned apart from x (disposed by the caller).
  const y = parts.length === 1 ? b.reshape(x, x.dims) : b.concat(parts, 2);
  for (const t of parts) if (t !== past && t !== x) t.dispose();
  return y;
}

/**
 * local_window_size w: query i (at position p = pastLen + i) sees the w keys p − w + 1 … p,
 * as onnxruntime 1.30 computes it (checked against it; older CPU kernels ignored the
 * attribute). An additive (S, T) mask on top of the causal one.
 */
export function windowBias(w: number, S: number, T: number, pastLen: number): Tensor | undefined {
  if (w <= 0 || w >= T) return undefined;
  const bias = new Float32Array(S * T);
  for (let i = 0; i < S; i++) for (let j = 0; j <= pastLen + i - w; j++) bias[i * T + j] = -1e30;
  return new Tensor('float32', bias, [S, T]);
}

function absent(c: OpCall, what: string): never {
  throw new Error(`${c.where}: ${what} is missing`);
}
