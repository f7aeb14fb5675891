/**
 * Reshape, Flatten, Squeeze and Unsqueeze only relabel the dims of the same data, so
 * dx is dy read back with the input's dims: a view, no copy (a new handle the caller owns).
 */
import type { GradRule } from '../../types.js';

export const reshapeRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    return [c.backend.reshape(dy, c.inputDims[0]!)];
  },
};
