/**
 * Softmax: dx = y ⊙ (dy − Σ dy ⊙ y) over the softmax axis, from the saved output y.
 * Mirrors the forward (graph/ops/math.ts): opset ≥ 13 normalizes along `axis` (default
 * −1), a non-last axis swapped to the end and back; opset < 13 flattens the input to 2-D
 * at `axis` (default 1) and normalizes each row of the trailing block.
 */
import { normalizeAxis } from '../../../../tensor/shape.js';
import { attrInt } from '../../../ops/types.js';
import type { GradRule } from '../../types.js';
import { viewAs } from './common.js';

export const softmaxRule: GradRule = {
  saves: { inputs: [], outputs: [0] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy || !c.wants[0]) return [];
    const b = c.backend;
    const y = c.outputs[0]!;
    const dims = c.inputDims[0]!;
    const rank = dims.length;
    const axis = normalizeAxis(attrInt(c, 'axis', c.opset >= 13 ? -1 : 1), rank, `${c.where} axis`);
    if (axis === rank - 1) return [b.softmaxBackward(y, dy)];
    if (c.opset < 13) {
      // (outer, inner) rows: the forward's 2-D coercion.
      const inner = dims.slice(axis).reduce((p, q) => p * q, 1);
      const rows2 = [dims.slice(0, axis).reduce((p, q) => p * q, 1), inner];
      const dx = b.softmaxBackward(viewAs(b, own, y, rows2), viewAs(b, own, dy, rows2));
      return [b.reshape(own(dx), dims)];
    }
    const perm = [...Array(rank).keys()];
    [perm[axis], perm[rank - 1]] = [perm[rank - 1], perm[axis]]; // a swap: its own inverse
    const dx = b.softmaxBackward(own(b.transpose(y, perm)), own(b.transpose(dy, perm)));
    return [b.transpose(own(dx), perm)];
  },
};
