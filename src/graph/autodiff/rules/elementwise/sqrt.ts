/** Sqrt: y = √x, dx = dy / (2√x). From x in one kernel (dy / 2y would take two). */
import { unaryRule } from './unary.js';

export const sqrtRule = unaryRule('sqrt');
