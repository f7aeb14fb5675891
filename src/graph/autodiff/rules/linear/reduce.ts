/**
 * ReduceSum / ReduceMean / ReduceMax, with the forward's axis handling (graph/ops/math.ts
 * reduceOp): axes from the attribute, or from host input 1 from opset `axesInputFrom`
 * (13 for ReduceSum, 18 for the others); empty axes reduce everything unless
 * noop_with_empty_axes, which makes the op an identity.
 *
 * Max goes through the backend's reduceBackward (the gradient split evenly among tied
 * maxima, as torch.amax) and saves x. Sum and mean only broadcast dy (÷ r for mean) back
 * to x's dims, which needs x's dims alone, so x is not kept alive for them.
 */
import type { ReduceOp } from '../../../../tensor/backend.js';
import { Tensor } from '../../../../tensor/tensor.js';
import { reduceAxes } from '../../../ops/math.js';
import { attrInt, sameAs } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { viewAs } from './common.js';

export const reduceRule = (op: ReduceOp, axesInputFrom: number): GradRule => ({
  saves: { inputs: op === 'max' ? [0] : [], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const b = c.backend;
    const dims = c.inputDims[0]!;
    const keep = attrInt(c, 'keepdims', 1) === 1;
    const axes = reduceAxes(c, dims.length, axesInputFrom);
    if (axes === 'noop') return [sameAs(b, dy)];
    if (op === 'max') return [b.reduceBackward('max', c.inputs[0]!, axes, keep, dy)];
    const kept = dims.map((d, i) => (axes.includes(i) ? 1 : d)); // dy with the reduced dims as 1
    let g = viewAs(b, own, dy, kept);
    if (op === 'mean') {
      const r = axes.reduce((p, a) => p * dims[a], 1);
      g = own(b.binary('mul', g, new Tensor('float32', [1 / r], [])));
    }
    return [b.expand(g, dims)];
  },
});
