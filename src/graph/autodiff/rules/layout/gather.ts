/**
 * Gather: the data gradient scatter-adds dy back to the gathered rows (repeated indices
 * accumulate); indices get none. Indices are read, so they are saved: host ones
 * (input_ids) are here anyway, device ones would otherwise be freed before the backward.
 */
import { attrInt, int32Indices } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const gatherRule: GradRule = {
  saves: { inputs: [1], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const indices = c.inputs[1]!;
    const idx = int32Indices(c, indices); // int64 host indices narrowed, as the forward does
    if (idx !== indices) own(idx);
    // The backend normalizes a negative axis and wraps negative indices, as in its gather.
    return [c.backend.gatherBackward(idx, dy, c.inputDims[0]!, attrInt(c, 'axis', 0)), undefined];
  },
};
