/**
 * MatMul (numpy / ONNX semantics): dA = dY·Bᵀ, dB = Aᵀ·dY through matmul's transpose
 * flags, each summed back over the batch dims its operand was broadcast along. A 1-D
 * operand is promoted as the forward does (a (K) as (1, K), b (K) as (K, 1)); dY gets the
 * promoted dims back, and each gradient drops them again.
 */
import type { Backend } from '../../../../tensor/backend.js';
import { broadcastDims, sameDims } from '../../../../tensor/shape.js';
import type { Tensor } from '../../../../tensor/tensor.js';
import type { Own } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { sumTo, viewAs } from './common.js';

/** t (…, R, C) summed to the promoted dims, then viewed as the operand's own dims. */
function fit(b: Backend, own: Own, t: Tensor, promoted: readonly number[], dims: readonly number[]): Tensor {
  const s = sumTo(b, own, t, promoted);
  return sameDims(promoted, dims) ? s : b.reshape(own(s), dims);
}

export const matMulRule: GradRule = {
  saves: { inputs: [0, 1], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const b = c.backend;
    const aDims = c.inputDims[0]!;
    const bDims = c.inputDims[1]!;
    const a2Dims = aDims.length === 1 ? [1, aDims[0]] : aDims; // (…, M, K)
    const b2Dims = bDims.length === 1 ? [bDims[0], 1] : bDims; // (…, K, N)
    const [M, K] = a2Dims.slice(-2);
    const N = b2Dims[b2Dims.length - 1];
    const aBatch = a2Dims.slice(0, -2);
    const batch = broadcastDims(aBatch, b2Dims.slice(0, -2), `${c.where} batch dims`);
    const dy2 = viewAs(b, own, dy, [...batch, M, N]);

    let da: Tensor | undefined;
    if (c.wants[0]) {
      const t = b.matmul(dy2, viewAs(b, own, c.inputs[1]!, b2Dims), { transB: true }); // (…batch, M, K)
      da = fit(b, own, t, a2Dims, aDims);
    }
    let db: Tensor | undefined;
    if (c.wants[1]) {
      const a = c.inputs[0]!;
      let t: Tensor;
      if (b2Dims.length === 2 && aBatch.length > 0) {
        // A weight shared by every batch row: fold the batch into M, one (K, N) matmul,
        // no (…batch, K, N) intermediate to sum.
        const rows = a.size / K;
        t = b.matmul(own(b.reshape(a, [rows, K])), viewAs(b, own, dy2, [rows, N]), { transA: true }); // (K, N)
      } else {
        t = b.matmul(viewAs(b, own, a, a2Dims), dy2, { transA: true }); // (…batch, K, N)
      }
      db = fit(b, own, t, b2Dims, bDims);
    }
    return [da, db];
  },
};
