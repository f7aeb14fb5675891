/** Abs: dx = dy · sign(x); 0 at x = 0 (PyTorch's choice). */
import { unaryRule } from './unary.js';

export const absRule = unaryRule('abs');
