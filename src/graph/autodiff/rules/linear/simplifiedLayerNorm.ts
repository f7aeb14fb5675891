/**
 * SimplifiedLayerNormalization (RMSNorm over the last axis, as the forward in
 * graph/ops/contrib.ts): the backend's rmsNormBackward. The inv_std_var output may be
 * unnamed, so the rule recomputes the (rows) statistic from the saved X with the
 * forward's kernel.
 */
import { attrFloat } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { noStatGradients, pick } from './common.js';

export const simplifiedLayerNormRule: GradRule = {
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    noStatGradients(c, [1]);
    const dy = c.dOutputs[0];
    if (!dy || (!c.wants[0] && !c.wants[1])) return [];
    const b = c.backend;
    const x = c.inputs[0]!;
    const gamma = c.inputs[1]!;
    const stats = b.rmsNorm(x, gamma, attrFloat(c, 'epsilon', 1e-5));
    own(stats.y);
    const r = b.rmsNormBackward(x, gamma, own(stats.invStd), dy);
    return [pick(own, c.wants[0], r.dx), pick(own, c.wants[1], r.dGamma)];
  },
};
