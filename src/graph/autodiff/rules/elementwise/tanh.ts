/**
 * Tanh: dx = dy · (1 − tanh²x). From x in one kernel, which recomputes the forward's
 * clamped tanh; from y it would be three passes (y², 1 − ·, · dy).
 */
import { unaryRule } from './unary.js';

export const tanhRule = unaryRule('tanh');
