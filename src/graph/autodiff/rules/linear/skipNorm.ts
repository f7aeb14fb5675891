/**
 * com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization (forwards in
 * graph/ops/contrib.ts): s = input + (skip + bias), y = norm(s)·gamma (+ beta); outputs
 * y, mean, inv_std_var, s. The gradient reaching s is the norm's dx plus whatever reaches
 * the s output (index 3, the residual stream in pre-norm transformers); it flows unchanged
 * to input, skip and bias, each summed to its dims. The statistics (and s, when its output
 * is unnamed) are recomputed from the saved inputs with the forward's kernel.
 *
 *   SkipLayerNormalization:           input, skip, gamma, beta, bias   (epsilon 1e-12)
 *   SkipSimplifiedLayerNormalization: input, skip, gamma, bias         (epsilon 1e-5)
 */
import type { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { noStatGradients, pick, routeSum } from './common.js';

export const skipNormRule = (rms: boolean): GradRule => {
  const bias = rms ? 3 : 4;
  const beta = rms ? -1 : 3;
  const addends = [0, 1, bias];
  return {
    saves: { inputs: [0, 1, 2, bias], outputs: [] },
    grad: (c, own) => {
      noStatGradients(c, [1, 2]);
      const b = c.backend;
      const dy = c.dOutputs[0];
      const dSum = c.dOutputs[3];
      const grads: (Tensor | undefined)[] = new Array(c.inputDims.length).fill(undefined);
      const wantSum = addends.some((i) => c.wants[i] && c.inputDims[i]);
      const wantBeta = beta >= 0 && c.wants[beta] && !!c.inputDims[beta];
      let ds: Tensor | undefined; // dL/ds through y: the rule's own tensor until routed
      if (dy && (wantSum || c.wants[2])) {
        const skip = c.inputs[bias] ? own(b.binary('add', c.inputs[1]!, c.inputs[bias]!)) : c.inputs[1]!;
        const x = c.inputs[0]!;
        const gamma = c.inputs[2]!;
        const eps = attrFloat(c, 'epsilon', rms ? 1e-5 : 1e-12);
        if (rms) {
          const f = b.rmsNorm(x, gamma, eps, skip);
          own(f.y);
          const r = b.rmsNormBackward(own(f.sum!), gamma, own(f.invStd), dy);
          ds = r.dx;
          grads[2] = pick(own, c.wants[2], r.dGamma);
        } else {
          const f = b.layerNorm(x, gamma, undefined, eps, skip);
          own(f.y);
          const r = b.layerNormBackward(own(f.sum!), gamma, own(f.mean!), own(f.invStd), dy);
          ds = r.dx;
          grads[2] = pick(own, c.wants[2], r.dGamma);
          grads[beta] = pick(own, wantBeta, r.dBeta);
        }
      } else if (dy && wantBeta) grads[beta] = b.sumToShape(dy, c.inputDims[beta]!);

      if (!wantSum) {
        own(ds);
        return grads;
      }
      if (ds && dSum) ds = b.binary('add', own(ds), dSum);
      const total = ds ?? dSum;
      if (total) routeSum(b, own, c, total, ds !== undefined, addends, grads);
      return grads;
    },
  };
};
