/**
 * cpu reference: AdamW, in place, with torch.optim.AdamW's semantics and operation order
 * (torch 1.13 `_single_tensor_adamw`, amsgrad off):
 *
 *   p ← p·(1 − lr·wd)                       decoupled weight decay, before the moments
 *   m ← β1·m + (1 − β1)·g
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
 *
 * Float64 per element, float32 on store.
 */
import type { AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { f32 } from './common.js';

/** Host-side scalars shared by the cpu and webgpu AdamW (the bias corrections in float64). */
export interface AdamWScalars {
  /** 1 − lr·wd */
  decay: number;
  /** lr / (1 − β1^t) */
  stepSize: number;
  /** √(1 − β2^t) */
  bc2Sqrt: number;
}

export function adamwScalars(o: AdamWOptions): AdamWScalars {
  if (!Number.isInteger(o.step) || o.step < 1) throw new Error(`adamw: step must be an integer ≥ 1 (1-based), got ${o.step}`);
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
    throw new Error(`adamw: betas must be in [0, 1), got (${o.beta1}, ${o.beta2})`);
  }
  if (!(o.eps >= 0) || !(o.lr >= 0) || !(o.weightDecay >= 0)) {
    throw new Error(`adamw: lr, eps and weightDecay must be ≥ 0, got lr ${o.lr}, eps ${o.eps}, weightDecay ${o.weightDecay}`);
  }
  return {
    decay: 1 - o.lr * o.weightDecay,
    stepSize: o.lr / (1 - o.beta1 ** o.step),
    bc2Sqrt: Math.sqrt(1 - o.beta2 ** o.step),
  };
}

/** param, grad, m and v must be float32 with the same dims. */
export function checkAdamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor): void {
  for (const [name, t] of [['param', param], ['grad', grad], ['m', m], ['v', v]] as const) {
    if (t.dtype !== 'float32') throw new Error(`adamw: ${name} must be float32, got ${t.dtype} ${fmtDims(t.dims)}`);
    if (!sameDims(t.dims, param.dims)) throw new Error(`adamw: ${name} must have param's dims ${fmtDims(param.dims)}, got ${fmtDims(t.dims)}`);
  }
}

export function adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
  checkAdamw(param, grad, m, v);
  const { decay, stepSize, bc2Sqrt } = adamwScalars(opts);
  const { beta1, beta2, eps } = opts;
  const p = f32(param, 'adamw param');
  const g = f32(grad, 'adamw grad');
  const ms = f32(m, 'adamw m');
  const vs = f32(v, 'adamw v');
  for (let i = 0; i < p.length; i++) {
    const mi = beta1 * ms[i] + (1 - beta1) * g[i];
    const vi = beta2 * vs[i] + (1 - beta2) * g[i] * g[i];
    p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    ms[i] = mi;
    vs[i] = vi;
  }
}
