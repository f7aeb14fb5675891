/** Expand: dy summed over the axes the input was broadcast along, back to the input's dims. */
import type { GradRule } from '../../types.js';

export const expandRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.sumToShape(dy, c.inputDims[0]!)]; // a new tensor even when nothing was broadcast
  },
};
