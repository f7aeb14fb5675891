/**
 * com.microsoft GroupQueryAttention (forward in graph/ops/gqa.ts). With T the total length,
 * S new tokens and pastLen = T − S:
 *
 *   q, k, v = heads of query, key, value (or of packed query's three parts)
 *   [q, k = rotary(q), rotary(k) at positions pastLen … T − 1]               (do_rotary)
 *   present_key = past_key[:pastLen] ‖ k ‖ zeros to max(T, P)   (present_value alike)
 *   output = merge(attend(q, present_key[:T], present_value[:T]))  — causal, key padding
 *            mask from seqlens_k, local window, softcap; query head n reads KV head n / G
 *
 * Backward: the attention backward (attend.ts) on the grouped (B, Nkv, G, ·, H) views gives
 * dq and, summed over the G query heads of a group, dK / dV (B, Nkv, T, H); present's
 * gradients add their first T positions (later ones are zero padding). The new positions
 * pastLen … T − 1 go to key / value, through the transposed rotation (applyRotary with
 * −sin) for do_rotary; the first pastLen go to past_key / past_value when wanted (positions
 * past pastLen get zero: present does not read them). Packed QKV concatenates dq, dk, dv.
 * seqlens_k, total_sequence_length and the caches get none.
 */
import { Tensor } from '../../../../tensor/tensor.js';
import { scalarOf } from '../../../fold/values.js';
import { applyRotary } from '../../../ops/contrib.js';
import { paddingMask, windowBias } from '../../../ops/gqa.js';
import { attrFloat, attrInt, hostInput, type OpCall, type Own } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { addGrad, attendBackward, merged, split } from './attend.js';

export const groupQueryAttentionRule: GradRule = {
  saves: { inputs: [0, 1, 2, 3, 4, 5, 7, 8], outputs: [] },
  grad: (c, own) => {
    const b = c.backend;
    const N = attrInt(c, 'num_heads', 0);
    const Nkv = attrInt(c, 'kv_num_heads', 0);
    const G = N / Nkv;
    const packed = !c.inputs[1];
    const [B, S, width] = c.inputDims[0]!;
    const H = packed ? width / (N + 2 * Nkv) : width / N;
    const T = scalarOf(hostInput(c, 6, 'total_sequence_length')!, `${c.where} total_sequence_length`);
    const P = c.inputDims[3]?.[2] ?? 0;
    const pastLen = T - S;
    const L = Math.max(T, P); // present's length
    const [dOut, dPresentK, dPresentV] = c.dOutputs;
    const wantQ = c.wants[0];
    const wantK = (packed ? wantQ : c.wants[1]) || c.wants[3];
    const wantV = (packed ? wantQ : c.wants[2]) || c.wants[4];
    if (!wantQ && !wantK && !wantV) return [];

    // The forward's q, k, v (B, ·, S, H), rotated, and the keys in use (B, Nkv, T, H).
    const part = (from: number, to: number) => own(b.slice(c.inputs[0]!, [from * H], [to * H], [2]));
    const [query, key, value] = packed ? [part(0, N), part(N, N + Nkv), part(N + Nkv, N + 2 * Nkv)] : [c.inputs[0]!, c.inputs[1]!, c.inputs[2]!];
    let qh = split(b, own, query, N);
    let kh = split(b, own, key, Nkv);
    const vh = split(b, own, value, Nkv);
    const rotary = attrInt(c, 'do_rotary', 0) === 1 ? rotaryTables(c, own, S, pastLen) : undefined;
    if (rotary) [qh, kh] = [qh, kh].map((t) => own(applyRotary(b, t, rotary.cos, rotary.sin, rotary.rotDim, rotary.interleaved)));
    const used = (past: Tensor | undefined, x: Tensor) => (past && pastLen > 0 ? own(b.concat([past.dims[2] === pastLen ? past : own(b.slice(past, [0], [pastLen], [2])), x], 2)) : x);
    const kUsed = used(c.inputs[3], kh);
    const vUsed = used(c.inputs[4], vh);

    let dq: Tensor | undefined; // (B, N, S, H)
    let dK: Tensor | undefined; // (B, Nkv, T, H)
    let dV: Tensor | undefined;
    if (dOut) {
      const q5 = own(b.reshape(qh, [B, Nkv, G, S, H]));
      const k5 = own(b.reshape(kUsed, [B, Nkv, 1, T, H]));
      const v5 = own(b.reshape(vUsed, [B, Nkv, 1, T, H]));
      const dy5 = own(b.reshape(split(b, own, dOut, N), [B, Nkv, G, S, H]));
      const opts = {
        scale: attrFloat(c, 'scale', 0) || 1 / Math.sqrt(H),
        causal: true,
        keyMask: own(paddingMask(c, B, S, T)),
        softcap: attrFloat(c, 'softcap', 0),
        bias: windowBias(attrInt(c, 'local_window_size', -1), S, T, pastLen),
      };
      const g = attendBackward(b, own, q5, k5, v5, dy5, opts, { q: wantQ, k: wantK, v: wantV });
      const as4 = (t: Tensor | undefined, dims: number[]) => t && own(b.reshape(t, dims));
      dq = as4(g.dq, [B, N, S, H]);
      dK = as4(g.dk, [B, Nkv, T, H]);
      dV = as4(g.dv, [B, Nkv, T, H]);
    }
    const firstT = (t: Tensor | undefined) => (t && L > T ? own(b.slice(t, [0], [T], [2])) : t);
    if (wantK) dK = addGrad(b, own, dK, firstT(dPresentK));
    if (wantV) dV = addGrad(b, own, dV, firstT(dPresentV));

    const zeros = (dims: readonly number[]) => own(b.zeros('float32', dims));
    /** The new positions of dX (B, Nkv, T, H), rotated back when rotary, as (B, S, Nkv·H); a new tensor. */
    const newPart = (dX: Tensor | undefined, rotate: boolean) => {
      if (!dX) return zeros([B, S, Nkv * H]);
      let t = pastLen > 0 ? own(b.slice(dX, [pastLen], [T], [2])) : dX;
      if (rotate && rotary) t = own(applyRotary(b, t, rotary.cos, rotary.negSin, rotary.rotDim, rotary.interleaved));
      return merged(b, own, t);
    };
    const pastPart = (dX: Tensor | undefined, dims: readonly number[]) =>
      dX && pastLen > 0 ? own(b.sliceBackward(own(b.slice(dX, [0], [pastLen], [2])), dims, [0], [pastLen], [2])) : zeros(dims);

    const grads: (Tensor | undefined)[] = new Array(c.inputDims.length).fill(undefined);
    if (wantQ) {
      let dqh = dq ?? zeros([B, N, S, H]);
      if (rotary) dqh = own(applyRotary(b, dqh, rotary.cos, rotary.negSin, rotary.rotDim, rotary.interleaved));
      const dQuery = merged(b, own, dqh); // (B, S, N·H)
      grads[0] = packed ? own(b.concat([dQuery, newPart(dK, true), newPart(dV, false)], 2)) : dQuery;
    }
    if (!packed && c.wants[1]) grads[1] = newPart(dK, true);
    if (!packed && c.wants[2]) grads[2] = newPart(dV, false);
    if (c.wants[3] && c.inputDims[3]) grads[3] = pastPart(dK, c.inputDims[3]);
    if (c.wants[4] && c.inputDims[4]) grads[4] = pastPart(dV, c.inputDims[4]);
    return grads;
  },
};

interface Rotary {
  cos: Tensor;
  sin: Tensor;
  negSin: Tensor;
  rotDim: number;
  interleaved: boolean;
}

/** The forward's angle rows (S, half) at positions pastLen … pastLen + S − 1 (gqa.ts `rotate`). */
function rotaryTables(c: OpCall, own: Own, S: number, pastLen: number): Rotary {
  const b = c.backend;
  const cosCache = c.inputs[7]!;
  const pos = new Tensor('int32', Int32Array.from({ length: S }, (_, s) => pastLen + s), [S]);
  const sin = own(b.gather(c.inputs[8]!, pos, 0));
  return {
    cos: own(b.gather(cosCache, pos, 0)),
    sin,
    negSin: own(b.unary('neg', sin)),
    rotDim: 2 * cosCache.dims[1],
    interleaved: attrInt(c, 'rotary_interleaved', 0) === 1,
  };
}


