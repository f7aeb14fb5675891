/**
 * com.microsoft Attention, the fused GPT-2 / BERT form (forward in graph/ops/contrib.ts):
 *
 *   qkv = input·weights + bias                                 (B, S, 3C)
 *   q, k, v = heads of its three C-wide parts                  (B, N, S, H)
 *   K = past[0] ‖ k,  V = past[1] ‖ v  (when past has P > 0)   (B, N, P+S, H)
 *   output = merge(softmax(q·Kᵀ/√H + maskBias, unidirectional) · V);  present = stack(K, V)
 *
 * The attention backward (attend.ts) gives dq, dK, dV; present's gradient adds to dK / dV;
 * the new positions' parts concatenate to dqkv (B, S, 3C), and then
 *   d input = dqkv·weightsᵀ,  d weights = inputᵀ·dqkv (batch folded into rows),  d bias = Σ dqkv.
 * weights and bias are constants in exported models; their gradients are made only when
 * wanted, as is past's (its first P positions). mask_index gets none.
 *
 * Inputs: input, weights, bias, mask_index, past (the forward reads no others).
 */
import type { Tensor } from '../../../../tensor/tensor.js';
import { maskBias } from '../../../ops/contrib.js';
import { attrFloat, attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { addGrad, attendBackward, merged, split } from './attend.js';

export const attentionRule: GradRule = {
  saves: { inputs: [0, 1, 2, 3, 4], outputs: [] },
  grad: (c, own) => {
    const b = c.backend;
    const [dOut, dPresent] = c.dOutputs;
    const n = attrInt(c, 'num_heads', 0);
    const x = c.inputs[0]!;
    const w = c.inputs[1]!;
    const pastDims = c.inputDims[4];
    const P = pastDims && pastDims[3] > 0 ? pastDims[3] : 0;
    const wantPast = c.wants[4] && !!pastDims;
    const wantQkv = c.wants[0] || c.wants[1] || c.wants[2];
    if (!wantQkv && !wantPast) return [];

    // The forward's q, K, V.
    const qkv = own(b.matmul(x, w, { bias: c.inputs[2] })); // (B, S, 3C)
    const C = qkv.dims[2] / 3;
    const part = (i: number) => split(b, own, own(b.slice(qkv, [i * C], [(i + 1) * C], [2])), n); // (B, N, S, H)
    const q = part(0);
    let k = part(1);
    let v = part(2);
    const past = c.inputs[4];
    const pastHalf = (i: number) => own(b.reshape(own(b.slice(past!, [i], [i + 1], [0])), past!.dims.slice(1))); // (B, N, P, H)
    if (P > 0) {
      k = own(b.concat([pastHalf(0), k], 2));
      v = own(b.concat([pastHalf(1), v], 2));
    }
    const mask = c.inputs[3];
    const bias = mask && maskBias(b, mask, Math.max(attrFloat(c, 'mask_filter_value', -10000), -1e30), own);
    const opts = { scale: attrFloat(c, 'scale', 0) || 1 / Math.sqrt(q.dims[3]), bias, causal: attrInt(c, 'unidirectional', 0) === 1 };

    let dq: Tensor | undefined; // (B, N, S, H)
    let dK: Tensor | undefined; // (B, N, P+S, H)
    let dV: Tensor | undefined;
    if (dOut) ({ dq, dk: dK, dv: dV } = attendBackward(b, own, q, k, v, split(b, own, dOut, n), opts, { q: wantQkv, k: true, v: true }));
    if (dPresent) {
      const half = (i: number) => own(b.reshape(own(b.slice(dPresent, [i], [i + 1], [0])), k.dims));
      dK = addGrad(b, own, dK, half(0));
      dV = addGrad(b, own, dV, half(1));
    }
    const zeros = (dims: readonly number[]) => own(b.zeros('float32', dims));
    const grads: (Tensor | undefined)[] = [undefined, undefined, undefined, undefined, undefined];
    if (wantPast) {
      const pastPart = (t: Tensor | undefined) => (t && P > 0 ? own(b.reshape(own(b.slice(t, [0], [P], [2])), [1, ...pastDims!.slice(1)])) : zeros([1, ...pastDims!.slice(1)]));
      grads[4] = own(b.concat([pastPart(dK), pastPart(dV)], 0)); // (2, B, N, P, H)
    }
    if (!wantQkv) return grads;

    // dqkv (B, S, 3C): the new positions of dK, dV after dq.
    const newPart = (t: Tensor | undefined) => (t ? merged(b, own, P > 0 ? own(b.slice(t, [P], [t.dims[2]], [2])) : t) : zeros([...qkv.dims.slice(0, 2), C]));
    const dqkv = own(b.concat([dq ? merged(b, own, dq) : zeros([...qkv.dims.slice(0, 2), C]), newPart(dK), newPart(dV)], 2));
    if (c.wants[0]) grads[0] = own(b.matmul(dqkv, w, { transB: true })); // (B, S, Cin)
    if (c.wants[1]) {
      const rows = x.size / x.dims[x.rank - 1];
      const x2 = own(b.reshape(x, [rows, x.dims[x.rank - 1]]));
      grads[1] = own(b.matmul(x2, own(b.reshape(dqkv, [rows, 3 * C])), { transA: true })); // (Cin, 3C)
    }
    if (c.wants[2] && c.inputDims[2]) grads[2] = own(b.sumToShape(dqkv, c.inputDims[2]));
    return grads;
  },
};
