/**
 * Relu: dx = dy where x > 0, else 0 (relu'(0) = 0, PyTorch's choice). Reads the output:
 * y > 0 exactly where x > 0, so unaryBackward('relu') on y is the same mask, and y is
 * the value the next layer's matmul keeps anyway.
 */
import type { GradRule } from '../../types.js';

export const reluRule: GradRule = {
  saves: { inputs: [], outputs: [0] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.unaryBackward('relu', c.outputs[0]!, dy)];
  },
};
