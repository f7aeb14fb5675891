/**
 * com.microsoft MatMulNBits (forward in graph/ops/quant.ts): Y = A (…, K) · W(N, K)ᵀ (+ bias),
 * W dequantized from the packed B, scales and zero points. dA = dY·W, with W from the
 * forward's own `nbitsWeight` (the cached weight when this B is the forward's tensor; a
 * fresh one, freed here, when the tape holds its own handle of B). The bias gets Σ dY
 * when wanted; the packed weight, scales and zero points are not differentiable here.
 *
 * Inputs: A, B, scales, zero_points, g_idx (refused by the forward), bias.
 */
import type { Tensor } from '../../../../tensor/tensor.js';
import { nbitsWeight } from '../../../ops/quant.js';
import { attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const matMulNBitsRule: GradRule = {
  saves: { inputs: [1, 2, 3], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const b = c.backend;
    const grads: (Tensor | undefined)[] = new Array(c.inputDims.length).fill(undefined);
    if (c.wants[0]) {
      const N = attrInt(c, 'N', 0);
      const K = attrInt(c, 'K', 0);
      const w = nbitsWeight(b, c.inputs[1]!, c.inputs[2]!, c.inputs[3], N, K, attrInt(c, 'bits', 4), attrInt(c, 'block_size', 0), false);
      if (!w.cached) own(w.t);
      grads[0] = b.matmul(dy, w.t); // (…, N)·(N, K) → (…, K)
    }
    if (c.wants[5] && c.inputDims[5]) grads[5] = b.sumToShape(dy, c.inputDims[5]);
    return grads;
  },
};
