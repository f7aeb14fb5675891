/** Add and Sub: dy (negated for Sub's b) summed back to each input's broadcast shape. */
import type { GradRule } from '../../types.js';

export const addRule = (negateB: boolean): GradRule => ({
  saves: { inputs: [], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const toShape = (i: number) => c.backend.sumToShape(dy, c.inputDims[i]!); // a new tensor even when dims match
    const da = c.wants[0] ? toShape(0) : undefined;
    const db = c.wants[1] ? (negateB ? c.backend.unary('neg', own(toShape(1))) : toShape(1)) : undefined;
    return [da, db];
  },
});
