/**
 * Gelu (opset 20): approximate 'none' is x·Φ(x), dx = dy · (Φ(x) + x·φ(x)); 'tanh' is
 * 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), dx as PyTorch's GeluBackward. The attribute
 * is read as graph/ops/math.ts's `gelu` reads it, so the derivative is of the form that ran.
 */
import type { GradRule } from '../../types.js';

export const geluRule: GradRule = {
  saves: { inputs: [0], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.unaryBackward(c.attrs.approximate === 'tanh' ? 'gelu_tanh' : 'gelu', c.inputs[0]!, dy)];
  },
};
