/**
 * Reciprocal: y = 1/x, dx = −dy / x². From x in one kernel (from y it would be −dy·y²,
 * two passes).
 */
import { unaryRule } from './unary.js';

export const reciprocalRule = unaryRule('reciprocal');
