/**
 * LayerNormalization (opset 17): normalizes the trailing dims from `axis`, flattened to
 * one axis of `cols` as the forward (graph/ops/math.ts) does, then the backend's
 * layerNormBackward. The forward's Mean / InvStdDev outputs may be unnamed (and freed),
 * so the rule recomputes the (rows) statistics from the saved X with the same kernel:
 * bit-identical to the forward's. Scale and B are read as (cols) and their gradients
 * take their own dims back.
 */
import { normalizeAxis } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat, attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { asDims, noStatGradients, pick, viewAs } from './common.js';

export const layerNormalizationRule: GradRule = {
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    noStatGradients(c, [1, 2]);
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const b = c.backend;
    const xDims = c.inputDims[0]!;
    const axis = normalizeAxis(attrInt(c, 'axis', -1), xDims.length, `${c.where} axis`);
    const cols = xDims.slice(axis).reduce((p, q) => p * q, 1);
    const flat = [...xDims.slice(0, axis), cols]; // (…, cols)
    const dy2 = viewAs(b, own, dy, flat);
    const bDims = c.inputDims[2];
    const wantB = c.wants[2] && !!bDims;
    if (!c.wants[0] && !c.wants[1]) return [undefined, undefined, wantB ? asDims(b, own, b.sumToShape(dy2, [cols]), bDims!) : undefined];

    const x2 = viewAs(b, own, c.inputs[0]!, flat);
    const gamma = viewAs(b, own, c.inputs[1]!, [cols]);
    const stats = b.layerNorm(x2, gamma, undefined, attrFloat(c, 'epsilon', 1e-5));
    own(stats.y);
    const r = b.layerNormBackward(x2, gamma, own(stats.mean!), own(stats.invStd), dy2);
    const shaped = (t: Tensor | undefined, dims: readonly number[] | undefined) => t && asDims(b, own, t, dims!);
    return [
      shaped(pick(own, c.wants[0], r.dx), xDims),
      shaped(pick(own, c.wants[1], r.dGamma), c.inputDims[1]),
      shaped(pick(own, wantB, r.dBeta), bDims),
    ];
  },
};
