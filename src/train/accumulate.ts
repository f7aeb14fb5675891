/**
 * Gradient accumulation: the gradient of one optimizer step over several micro-batches.
 *
 * Each micro-batch's `computeGradients` is the gradient of its *mean* loss over its nᵢ
 * counted tokens (label positions, or rows for classification). The step's gradient is
 * weighted by tokens,
 *
 *   g = Σᵢ nᵢ·gᵢ / Σᵢ nᵢ,   loss = Σᵢ nᵢ·lossᵢ / Σᵢ nᵢ,
 *
 * which is exactly the gradient of the mean loss over the concatenated batch, however the
 * padding and -100 labels are spread between micro-batches. transformers' Trainer before
 * 4.46 divided each micro-batch's mean loss by k instead (equal weights, which over-weights
 * the tokens of short micro-batches); since 4.46 it divides the summed loss by the step's
 * token count (`num_items_in_batch`), which is this weighting.
 */
import type { Gradients } from '../peft/model.js';
import type { TrainableModel } from '../peft/step.js';
import type { Backend } from '../tensor/backend.js';
import { Tensor } from '../tensor/tensor.js';
import type { Batch } from './metrics.js';

export interface MicroBatch {
  batch: Batch;
  /** Dropout seed of this micro-batch. */
  seed: number;
}

const scalar = (b: Backend, v: number) => b.upload(new Tensor('float32', Float32Array.of(v), [1]));

/** x · s, disposing x. */
function scaleInto(b: Backend, x: Tensor, s: number): Tensor {
  const c = scalar(b, s);
  const y = b.binary('mul', x, c);
  (c.dispose(), x.dispose());
  return y;
}

/**
 * Runs forward and backward on every micro-batch and returns the token-weighted loss and
 * gradients (caller owns the gradients). One micro-batch returns its gradients untouched.
 */
export async function accumulateGradients(peft: TrainableModel, micro: readonly MicroBatch[]): Promise<Gradients> {
  if (micro.length === 0) throw new Error('accumulateGradients: no micro-batches');
  if (micro.length === 1) return peft.computeGradients(micro[0].batch, { seed: micro[0].seed });
  const b = peft.base.backend;
  const acc: Record<string, Tensor> = {}; // Σ nᵢ·gᵢ
  let lossSum = 0;
  let tokens = 0;
  try {
    for (const m of micro) {
      const r = await peft.computeGradients(m.batch, { seed: m.seed });
      lossSum += r.loss * r.tokens;
      tokens += r.tokens;
      for (const [name, g] of Object.entries(r.grads)) {
        const weighted = scaleInto(b, g, r.tokens);
        const prev = acc[name];
        if (!prev) {
          acc[name] = weighted;
        } else {
          acc[name] = b.binary('add', prev, weighted);
          (prev.dispose(), weighted.dispose());
        }
      }
    }
  } catch (err) {
    for (const t of Object.values(acc)) t.dispose();
    throw err;
  }
  const grads: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(acc)) grads[name] = scaleInto(b, t, 1 / tokens);
  return { loss: lossSum / tokens, tokens, grads };
}
