/** Sigmoid: dx = dy · σ(x)(1 − σ(x)). From x in one kernel (from y: two or three passes). */
import { unaryRule } from './unary.js';

export const sigmoidRule = unaryRule('sigmoid');
