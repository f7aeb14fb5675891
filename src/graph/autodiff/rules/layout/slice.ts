/**
 * Slice: dx is zeros of the input's dims with dy written back into the sliced region, by
 * the same starts / ends / axes / steps as the forward (the backend clamps them as the
 * forward's slice does, negative steps included).
 */
import { normalizeAxis } from '../../../../tensor/shape.js';
import { attrInts, hostInput, type OpCall } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

/** As the forward: inputs 1..4 from opset 10, attributes before (no steps then). */
function sliceArgs(c: OpCall, rank: number) {
  const get = (i: number, name: string) => (c.opset >= 10 ? hostInput(c, i, name)?.values : attrInts(c, name));
  const starts = get(1, 'starts')!;
  const ends = get(2, 'ends')!;
  const axes = (get(3, 'axes') ?? starts.map((_, i) => i)).map((a) => normalizeAxis(a, rank, `${c.where} axes`));
  const steps = (c.opset >= 10 ? hostInput(c, 4, 'steps')?.values : undefined) ?? starts.map(() => 1);
  return { starts, ends, axes, steps };
}

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
