/** Concat: each input's gradient is its own region of dy along the concat axis. */
import { normalizeAxis } from '../../../../tensor/shape.js';
import { attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const concatRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const axis = normalizeAxis(attrInt(c, 'axis', 0), dy.rank, `${c.where} axis`);
    let at = 0;
    return c.inputDims.map((dims, i) => {
      if (!dims) return undefined; // an omitted input, as the forward skips it
      const n = dims[axis];
      at += n;
      return c.wants[i] ? c.backend.slice(dy, [at - n], [at], [axis]) : undefined;
    });
  },
};
