/**
 * Global-norm gradient clipping, as torch.nn.utils.clip_grad_norm_ (norm_type 2):
 *
 *   total = ‖(‖g₁‖₂, ‖g₂‖₂, …)‖₂ = √(Σᵢ Σ gᵢ²)
 *   coef  = max_norm / (total + 1e-6);  when coef < 1, every g ← g · coef
 *
 * (torch multiplies by min(coef, 1) unconditionally; a factor of exactly 1 changes
 * nothing, so it is skipped.) The sums of squares run on the backend; the one scalar
 * read back is the total.
 */
import type { Backend } from '../tensor/backend.js';
import { Tensor } from '../tensor/tensor.js';

/** Σ g² over every tensor of `grads`, as a (1) tensor on the backend (caller disposes). */
function sumOfSquares(b: Backend, grads: readonly Tensor[]): Tensor {
  let total: Tensor | undefined;
  for (const g of grads) {
    const sq = b.binary('mul', g, g);
    const s = b.reduce('sum', sq, [], true); // (1, …, 1)
    sq.dispose();
    const flat = b.reshape(s, [1]);
    s.dispose();
    if (!total) {
      total = flat;
    } else {
      const next = b.binary('add', total, flat);
      (total.dispose(), flat.dispose());
      total = next;
    }
  }
  return total ?? b.upload(new Tensor('float32', Float32Array.of(0), [1]));
}

/** The global L2 norm of the gradients (one scalar readback). */
export async function gradNorm(b: Backend, grads: Readonly<Record<string, Tensor>>): Promise<number> {
  const total = sumOfSquares(b, Object.values(grads));
  try {
    return Math.sqrt((await total.toArray())[0]);
  } finally {
    total.dispose();
  }
}

/**
 * Scales `grads` in place (each entry of the record is replaced by its scaled tensor, the
 * old one disposed) so their global norm is at most `maxNorm`; returns the norm before
 * clipping. A non-finite norm is returned as is and leaves the gradients untouched.
 */
export async function clipGradNorm(b: Backend, grads: Record<string, Tensor>, maxNorm: number): Promise<number> {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = await gradNorm(b, grads);
  const coef = maxNorm / (norm + 1e-6);
  if (!Number.isFinite(norm) || coef >= 1) return norm;
  const c = b.upload(new Tensor('float32', Float32Array.of(coef), [1]));
  try {
    for (const [name, g] of Object.entries(grads)) {
      grads[name] = b.binary('mul', g, c);
      g.dispose();
    }
  } finally {
    c.dispose();
  }
  return norm;
}
