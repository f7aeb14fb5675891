/**
 * The com.microsoft gelus with an optional bias, y = f(x [+ bias]): g = dy · f'(x + bias)
 * (one kernel on the recomputed sum), dX = g and dBias = g summed over the broadcast
 * axes (to (C) for the usual (…, C) x and (C) bias).
 */
import type { UnaryOp } from '../../../../tensor/backend.js';
import type { GradRule } from '../../types.js';
import { sumTo } from './sumTo.js';

export const biasedGeluRule = (op: UnaryOp): GradRule => ({
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    const bias = c.inputs[1];
    const wantBias = c.wants[1] && !!bias;
    if (!dy || !(c.wants[0] || wantBias)) return [];
    const b = c.backend;
    const x = c.inputs[0]!;
    const z = bias ? own(b.binary('add', x, bias)) : x;
    const g = b.unaryBackward(op, z, dy); // output dims
    const dBias = wantBias ? b.sumToShape(g, c.inputDims[1]!) : undefined;
    if (!c.wants[0]) {
      own(g);
      return [undefined, dBias];
    }
    return [sumTo(b, g, c.inputDims[0]!, own), dBias];
  },
});
