/**
 * The pointwise plumbing shared by the unary rules: dx = dy · f'(x) through the backend's
 * unaryBackward kernel (one pass, the derivative of exactly the forward's `f`, with the
 * forward's approximations: kernels/unary.wgsl keeps both in one file). The per-op files
 * say which f and why x (not y) is read.
 */
import type { UnaryOp } from '../../../../tensor/backend.js';
import type { GradRule } from '../../types.js';

export const unaryRule = (op: UnaryOp): GradRule => ({
  saves: { inputs: [0], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.unaryBackward(op, c.inputs[0]!, dy)];
  },
});
