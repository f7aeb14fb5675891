/** Helpers the linear-algebra and normalization rules share. */
import type { Backend } from '../../../../tensor/backend.js';
import { sameDims } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import type { Own } from '../../../ops/types.js';
import type { GradCall } from '../../types.js';

/**
 * `t` (an intermediate the rule made) summed back over broadcast axes to `dims`; `t`
 * itself when it already has them, so the common unbroadcast case costs no copy.
 */
export function sumTo(b: Backend, own: Own, t: Tensor, dims: readonly number[]): Tensor {
  return sameDims(t.dims, dims) ? t : b.sumToShape(own(t), dims);
}

/** A reshape view of `t` (owned), or `t` itself when it already has `dims`. */
export function viewAs(b: Backend, own: Own, t: Tensor, dims: readonly number[]): Tensor {
  return sameDims(t.dims, dims) ? t : own(b.reshape(t, dims));
}

/**
 * The normalization rules treat the statistics outputs (mean, inv_std_var) as not
 * differentiable, as onnxruntime's training gradients do; a gradient reaching one would
 * otherwise be dropped silently, so it is an error that names the node.
 */
export function noStatGradients(c: GradCall, outputs: readonly number[]): void {
  for (const k of outputs) {
    if (c.dOutputs[k]) throw new Error(`${c.where}: a gradient reaches output ${k} (a normalization statistic), which has no gradient rule`);
  }
}

/** An intermediate `t` as `dims`: `t` itself, or a view of it (t owned: the view becomes the only holder). */
export function asDims(b: Backend, own: Own, t: Tensor, dims: readonly number[]): Tensor {
  return sameDims(t.dims, dims) ? t : b.reshape(own(t), dims);
}

/** `t` when wanted; otherwise `t` is owned (freed when the rule returns) and the slot is empty. */
export function pick(own: Own, wanted: boolean, t: Tensor): Tensor | undefined {
  if (wanted) return t;
  own(t);
  return undefined;
}

/**
 * Routes the gradient `ds` of a sum to each wanted addend `i` in `addends`, summed back to
 * its dims. When the rule made `ds` (`mine`), the first addend of the same dims takes it
 * as is; every other addend gets its own tensor, so no two inputs share one gradient.
 */
export function routeSum(
  b: Backend, own: Own, c: GradCall, ds: Tensor, mine: boolean, addends: readonly number[], grads: (Tensor | undefined)[],
): void {
  let spare: Tensor | undefined = mine ? ds : undefined;
  for (const i of addends) {
    const dims = c.inputDims[i];
    if (!c.wants[i] || !dims) continue;
    if (spare && sameDims(spare.dims, dims)) {
      grads[i] = spare;
      spare = undefined;
    } else grads[i] = b.sumToShape(ds, dims); // a new tensor even when the dims match
  }
  if (spare) own(spare);
}
