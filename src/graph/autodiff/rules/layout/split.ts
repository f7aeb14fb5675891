/**
 * Split: dx is the dOutputs concatenated back along the split axis; an output no gradient
 * reaches contributes zeros. The part sizes mirror the forward (src/graph/ops/layout.ts).
 */
import { normalizeAxis } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import { splitSizes } from '../../../ops/layout.js';
import { attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const splitRule: GradRule = {
  saves: { inputs: [], outputs: [] },
  grad: (c, own) => {
    if (!c.wants[0] || c.dOutputs.every((d) => !d)) return [];
    const xDims = c.inputDims[0]!;
    const axis = normalizeAxis(attrInt(c, 'axis', 0), xDims.length, `${c.where} axis`);
    const parts: Tensor[] = [];
    splitSizes(c, xDims[axis]).forEach((n, k) => {
      if (n <= 0) return; // empty outputs add nothing along the axis
      const dims = xDims.map((d, a) => (a === axis ? n : d));
      parts.push(c.dOutputs[k] ?? own(c.backend.zeros('float32', dims)));
    });
    if (parts.length === 0) return [c.backend.zeros('float32', xDims)];
    return [c.backend.concat(parts, axis)];
  },
};
