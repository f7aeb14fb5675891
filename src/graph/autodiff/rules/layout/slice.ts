/**
 * Slice: dx is zeros of the input's dims with dy written back into the sliced region, by
 * the same starts / ends / axes / steps as the forward (the backend clamps them as the
 * forward's slice does, negative steps included).
 */
import { sliceArgs } from '../../../ops/layout.js';
import type { GradRule } from '../../types.js';

export const sliceRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const xDims = c.inputDims[0]!;
    const { starts, ends, axes, steps } = sliceArgs(c, xDims.length);
    return [c.backend.sliceBackward(dy, xDims, starts, ends, axes, steps)];
  },
};
