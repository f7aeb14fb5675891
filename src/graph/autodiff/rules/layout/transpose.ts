/** Transpose: dx = dyᵀ by the inverse permutation (the default perm reverses the axes, as the forward). */
import { attrInts } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const transposeRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const rank = c.inputDims[0]!.length;
    const perm = attrInts(c, 'perm') ?? [...Array(rank).keys()].reverse();
    const inverse = new Array<number>(rank); // y axis k is x axis perm[k], so x axis perm[k] comes from y axis k
    perm.forEach((p, k) => (inverse[p] = k));
    return [c.backend.transpose(dy, inverse)];
  },
};
