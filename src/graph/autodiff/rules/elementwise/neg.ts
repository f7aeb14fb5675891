/** Neg: y = −x, dx = −dy. Reads no forward value. */
import type { GradRule } from '../../types.js';

export const negRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.unary('neg', dy)];
  },
};
