/**
 * Tile: dx sums the repeated copies. dy (r0·d0, r1·d1, …) is read as (r0, d0, r1, d1, …)
 * — copy k of axis i holds positions k·di … k·di + di − 1 — then summed over the r axes.
 */
import { hostInput } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const tileRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const xDims = c.inputDims[0]!;
    const reps = hostInput(c, 1, 'repeats')!.values;
    const spread = own(c.backend.reshape(dy, xDims.flatMap((d, i) => [reps[i], d]))); // (r0, d0, r1, d1, …)
    const summed = own(c.backend.sumToShape(spread, xDims.flatMap((d) => [1, d]))); // (1, d0, 1, d1, …)
    return [c.backend.reshape(summed, xDims), undefined]; // the view keeps `summed`'s buffer alive
  },
};
