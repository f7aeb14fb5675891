/** The backward of broadcasting, without a copy when nothing was broadcast. */
import type { Backend } from '../../../../tensor/backend.js';
import { sameDims } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import type { Own } from '../../../ops/types.js';

/** `t` (a tensor the rule made) summed to `dims`: `t` itself when it has them, else a new sum and `t` is owned. */
export function sumTo(b: Backend, t: Tensor, dims: readonly number[], own: Own): Tensor {
  return sameDims(t.dims, dims) ? t : b.sumToShape(own(t), dims);
}
