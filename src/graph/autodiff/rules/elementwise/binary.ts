/**
 * Mul / Div / Pow (and two-input Max / Min: max.ts, min.ts): the backend's
 * binaryBackward, which sums each gradient back over the axes its input was broadcast
 * along. (Add and Sub need no forward values: add.ts.)
 */
import type { BinaryOp } from '../../../../tensor/backend.js';
import type { GradRule } from '../../types.js';

export const binaryRule = (op: BinaryOp): GradRule => ({
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    if (c.inputDims.length !== 2) throw new Error(`${c.where}: the gradient of ${op} is defined here for two inputs, this node has ${c.inputDims.length}`);
    const { da, db } = c.backend.binaryBackward(op, c.inputs[0]!, c.inputs[1]!, dy);
    if (!c.wants[0]) own(da);
    if (!c.wants[1]) own(db);
    return [c.wants[0] ? da : undefined, c.wants[1] ? db : undefined];
  },
});
