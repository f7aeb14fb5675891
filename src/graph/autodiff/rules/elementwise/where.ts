/**
 * Where(condition, X, Y): dX = dy where condition, dY = dy where not, each summed back
 * over the axes its input was broadcast along; the bool condition has no gradient.
 * Only the condition is read.
 */
import { Tensor } from '../../../../tensor/tensor.js';
import type { GradRule } from '../../types.js';
import { sumTo } from './sumTo.js';

const zero = () => new Tensor('float32', [0], []);

export const whereRule: GradRule = {
  saves: { inputs: [0], outputs: [] },
  grad: (c, own) => {
    const dy = c.dOutputs[0];
    if (!dy) return [];
    const b = c.backend;
    const cond = c.inputs[0]!;
    // where(cond, dy, 0) has dy's dims: cond broadcasts to the output.
    const dX = c.wants[1] ? sumTo(b, b.where(cond, dy, zero()), c.inputDims[1]!, own) : undefined;
    const dY = c.wants[2] ? sumTo(b, b.where(cond, zero(), dy), c.inputDims[2]!, own) : undefined;
    return [undefined, dX, dY];
  },
};
