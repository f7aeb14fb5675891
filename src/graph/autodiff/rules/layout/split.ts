/**
 * Split: dx is the dOutputs concatenated back along the split axis; an output no gradient
 * reaches contributes zeros. The part sizes mirror the forward (src/graph/ops/layout.ts).
 */
import { normalizeAxis } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import { attrInt, attrInts, hostInput, type OpCall } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

/** The `split` sizes (an input from opset 13, an attribute before), else equal parts as the forward cuts them. */
function splitSizes(c: OpCall, len: number): number[] {
  const given = c.opset >= 13 ? hostInput(c, 1, 'split')?.values : attrInts(c, 'split');
  const parts = attrInt(c, 'num_outputs', 0) || c.outputCount;
  const chunk = Math.ceil(len / parts);
  // The forward's last parts can come out ≤ 0 when parts·chunk overshoots len; their slices are empty.
  return given ?? Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, len - i * chunk)));
}

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
