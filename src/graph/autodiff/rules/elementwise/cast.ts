/**
 * Cast: between float types (float32, float16) the gradient passes straight through
 * (the rounding to float16 is treated as the identity, as PyTorch does), as float32 — the
 * contract's gradient type — whatever dy's type. A cast to an integer or bool type
 * is not differentiable, and neither is an integer or bool input: no gradient.
 */
import { Tensor } from '../../../../tensor/tensor.js';
import { attrInt, sameAs } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

/** ONNX TensorProto codes of the float types webpeft casts to: FLOAT, FLOAT16. */
const FLOAT_TYPES = new Set([1, 10]);
const isFloat = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float16';

export const castRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0] || !FLOAT_TYPES.has(attrInt(c, 'to', 1))) return [];
    const x = c.inputs[0]; // present only when it is a host tensor (nothing is saved)
    if (x && !isFloat(x)) return [];
    return [dy.dtype === 'float32' ? sameAs(c.backend, dy) : c.backend.cast(dy, 'float32')];
  },
};
