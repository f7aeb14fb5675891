/**
 * com.microsoft QuickGelu: y = x · σ(αx) (alpha default 1.702). With v = αx, y = silu(v)/α,
 * so dy/dx = silu'(v) = σ(v)·(1 + v·(1 − σ(v))): the backend's silu backward at αx,
 * the same αx (rounded to float32) the forward fed its sigmoid.
 */
import { Tensor } from '../../../../tensor/tensor.js';
import { attrFloat } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';

export const quickGeluRule: GradRule = {
  saves: { inputs: [0], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const b = c.backend;
    const alpha = attrFloat(c, 'alpha', 1.702);
    const x = c.inputs[0]!;
    const v = alpha === 1 ? x : own(b.binary('mul', x, new Tensor('float32', [alpha], [])));
    return [b.unaryBackward('silu', v, dy)];
  },
};
