/**
 * The backward of `attendHeads` (graph/ops/contrib.ts), which the attention rules share:
 *
 *   s = scale·q·kᵀ;  [s = c·tanh(s / c)];  [s = s + bias];  p = softmax(s, causal, keyMask);  y = p·v
 *
 * p is recomputed from q, k, v with the forward's own sequence of backend ops (bit-identical
 * to the forward's), then
 *
 *   dv = pᵀ·dy,  dp = dy·vᵀ,  ds = p ⊙ (dp − Σ dp ⊙ p),  [dbias = ds],  [ds ← ds·(1 − tanh²(s/c))],
 *   dq = scale·ds·k,  dk = scale·dsᵀ·q
 *
 * Masked positions have p = 0, so no gradient flows through them. Leading dims broadcast as
 * in the forward (GroupQueryAttention's k, v (B, Nkv, 1, T, H) against q (B, Nkv, G, S, H)):
 * each gradient is summed back to its operand's dims.
 */
import type { Backend } from '../../../../tensor/backend.js';
import { Tensor } from '../../../../tensor/tensor.js';
import { heads, mergeHeads, type AttendOptions } from '../../../ops/contrib.js';
import type { Own } from '../../../ops/types.js';
import { sumTo } from '../linear/common.js';

export interface AttendGrads {
  dq?: Tensor;
  dk?: Tensor;
  dv?: Tensor;
  dBias?: Tensor;
}

export interface AttendWants {
  q: boolean;
  k: boolean;
  v: boolean;
  bias?: boolean;
}

/**
 * Gradients of attendHeads(q, k, v, o) given dy (…, S, H); the ones not wanted are
 * undefined. Every tensor made here is marked with `own`, results included: a rule may
 * return one as is (the tape keeps what a rule returns) or transform it further.
 */
export function attendBackward(b: Backend, own: Own, q: Tensor, k: Tensor, v: Tensor, dy: Tensor, o: AttendOptions, want: AttendWants): AttendGrads {
  // The forward's scores, op for op (attendHeads).
  let s = own(b.matmul(q, k, { transB: true, alpha: o.scale })); // (…, S, T)
  let u: Tensor | undefined; // s / c before the soft-cap's tanh
  if (o.softcap && o.softcap > 0) {
    const c = new Tensor('float32', [o.softcap], []);
    u = own(b.binary('div', s, c));
    s = own(b.binary('mul', own(b.unary('tanh', u)), c));
  }
  if (o.bias) s = own(b.binary('add', s, o.bias));
  const p = own(b.softmax(s, { causal: o.causal, keyMask: o.keyMask })); // (…, S, T)

  const g: AttendGrads = {};
  if (want.v) g.dv = own(sumTo(b, own, b.matmul(p, dy, { transA: true }), v.dims)); // (…, T, H)
  if (!want.q && !want.k && !(want.bias && o.bias)) return g;
  let ds = own(b.softmaxBackward(p, own(b.matmul(dy, v, { transB: true })))); // (…, S, T)
  if (want.bias && o.bias) g.dBias = own(b.sumToShape(ds, o.bias.dims));
  // s = c·tanh(u), u = s₀/c: ds₀ = ds · c · tanh'(u) / c.
  if (u) ds = own(b.unaryBackward('tanh', u, ds));
  if (want.q) g.dq = own(sumTo(b, own, b.matmul(ds, k, { alpha: o.scale }), q.dims)); // (…, S, H)
  if (want.k) g.dk = own(sumTo(b, own, b.matmul(ds, q, { transA: true, alpha: o.scale }), k.dims)); // (…, T, H)
  return g;
}

/** (B, N, S, H) → (B, S, N·H), owned. */
export function merged(b: Backend, own: Own, t: Tensor): Tensor {
  return own(mergeHeads(b, t));
}

/** (B, S, N·H) → (B, N, S, H), owned. */
export function split(b: Backend, own: Own, t: Tensor, n: number): Tensor {
  return own(heads(b, t, n));
}

/** The sum of two optional gradients of the same dims (owned when made here). */
export function addGrad(b: Backend, own: Own, a: Tensor | undefined, c: Tensor | undefined): Tensor | undefined {
  if (!a) return c;
  if (!c) return a;
  return own(b.binary('add', a, c));
}
