/**
 * Exp: y = eˣ, dx = dy · y. Reads the output, not x: the same one multiply, and y is
 * usually kept anyway by its consumer (the Div of a decomposed softmax), x often is not.
 */
import type { GradRule } from '../../types.js';

export const expRule: GradRule = {
  saves: { inputs: [], outputs: [0] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.binary('mul', dy, c.outputs[0]!)];
  },
};
