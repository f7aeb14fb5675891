/**
 * Gemm: Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (M, K), B' = transB ? Bᵀ : B
 * (K, N), C broadcast to (M, N). Each gradient is one matmul in the stored layout of its
 * operand (transpose flags, nothing materialized):
 *   dA  = alpha·dY·B'ᵀ         (transA = 0)    dA = alpha·B'·dYᵀ   (transA = 1, A is (K, M))
 *   dB  = alpha·A'ᵀ·dY         (transB = 0)    dB = alpha·dYᵀ·A'   (transB = 1, B is (N, K))
 *   dC  = beta·Σ_broadcast dY
 */
import { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat, attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const gemmRule: GradRule = {
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0]; // (M, N)
    if (!dy) return [];
    const b = c.backend;
    const transA = attrInt(c, 'transA', 0) === 1;
    const transB = attrInt(c, 'transB', 0) === 1;
    const alpha = attrFloat(c, 'alpha', 1);
    const beta = attrFloat(c, 'beta', 1);
    const A = c.inputs[0]!;
    const B = c.inputs[1]!;
    const da = !c.wants[0]
      ? undefined
      : transA
        ? b.matmul(B, dy, { transA: transB, transB: true, alpha }) // (K, M)
        : b.matmul(dy, B, { transB: !transB, alpha }); // (M, K)
    const db = !c.wants[1]
      ? undefined
      : transB
        ? b.matmul(dy, A, { transA: true, transB: transA, alpha }) // (N, K)
        : b.matmul(A, dy, { transA: !transA, alpha }); // (K, N)
    let dc: Tensor | undefined;
    if (c.wants[2] && c.inputDims[2]) {
      const cDims = c.inputDims[2];
      if (beta === 0) dc = b.zeros('float32', cDims); // the forward skips C entirely
      else {
        dc = b.sumToShape(dy, cDims); // a new tensor even when the dims match
        if (beta !== 1) dc = b.binary('mul', own(dc), new Tensor('float32', [beta], []));
      }
    }
    return [da, db, dc];
  },
};
