/**
 * com.microsoft MultiHeadAttention (forward in graph/ops/contrib.ts):
 *
 *   q, k, v = heads(query), heads(key), heads(value)              (B, N, S, H)
 *   K = past_key ‖ k,  V = past_value ‖ v  along the sequence     (B, N, P+S, H)
 *   output = merge(softmax(scale·q·Kᵀ + attention_bias, causal) · V);  present_key = K, present_value = V
 *
 * The attention backward (attend.ts) gives dq, dK, dV; the gradients reaching present_key /
 * present_value add to dK / dV, which split back into past (the first P positions) and the
 * new key / value. attention_bias (input 5) gets ds summed to its dims when wanted (it is a
 * mask normally, and then not wanted). The forward refuses the packed bias (3) and
 * key_padding_mask (4), so they never reach here.
 *
 * Inputs: query, key, value, bias, key_padding_mask, attention_bias, past_key, past_value.
 */
import type { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat, attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { addGrad, attendBackward, merged, split } from './attend.js';

export const multiHeadAttentionRule: GradRule = {
  saves: { inputs: [0, 1, 2, 5, 6, 7], outputs: [] },
  grad: (c, own) => {
    const b = c.backend;
    const n = attrInt(c, 'num_heads', 0);
    const [dOut, dPresentK, dPresentV] = c.dOutputs;
    const P = c.inputDims[6]?.[2] ?? 0;
    const wantK = c.wants[1] || c.wants[6];
    const wantV = c.wants[2] || c.wants[7];
    let dK: Tensor | undefined; // (B, N, P+S, H)
    let dV: Tensor | undefined;
    let dq: Tensor | undefined; // (B, N, S, H)
    let dBias: Tensor | undefined;
    if (dOut && (c.wants[0] || wantK || wantV || c.wants[5])) {
      const q = split(b, own, c.inputs[0]!, n);
      let k = split(b, own, c.inputs[1]!, n);
      let v = split(b, own, c.inputs[2]!, n);
      if (c.inputs[6]) k = own(b.concat([c.inputs[6], k], 2));
      if (c.inputs[7]) v = own(b.concat([c.inputs[7], v], 2));
      const opts = {
        scale: attrFloat(c, 'scale', 0) || 1 / Math.sqrt(q.dims[3]),
        bias: c.inputs[5],
        causal: attrInt(c, 'unidirectional', 0) === 1,
      };
      const g = attendBackward(b, own, q, k, v, split(b, own, dOut, n), opts, { q: c.wants[0], k: wantK, v: wantV, bias: c.wants[5] });
      ({ dq, dBias } = g);
      dK = g.dk;
      dV = g.dv;
    }
    if (wantK) dK = addGrad(b, own, dK, dPresentK);
    if (wantV) dV = addGrad(b, own, dV, dPresentV);
    const grads: (Tensor | undefined)[] = new Array(c.inputDims.length).fill(undefined);
    grads[0] = dq && merged(b, own, dq);
    if (c.wants[5] && c.inputDims[5]) grads[5] = dBias ?? own(b.zeros('float32', c.inputDims[5]));
    splitKv(c.wants[1], c.wants[6], 1, 6, dK);
    splitKv(c.wants[2], c.wants[7], 2, 7, dV);
    return grads;

    /** dX (B, N, P+S, H) → past (positions < P) and the new input (B, S, N·H); zeros when no gradient reached it. */
    function splitKv(wantNew: boolean, wantPast: boolean, inew: number, ipast: number, dX: Tensor | undefined): void {
      const newDims = c.inputDims[inew]!;
      if (wantNew) {
        if (!dX) grads[inew] = own(b.zeros('float32', newDims));
        else {
          const part = P > 0 ? own(b.slice(dX, [P], [dX.dims[2]], [2])) : dX;
          grads[inew] = merged(b, own, part); // a new tensor even when part is present's gradient itself
        }
      }
      if (wantPast && c.inputDims[ipast]) {
        grads[ipast] = dX ? own(b.slice(dX, [0], [P], [2])) : own(b.zeros('float32', c.inputDims[ipast]!));
      }
    }
  },
};
