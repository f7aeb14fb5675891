/** Erf: dx = dy · (2/√π) · e^(−x²). */
import { unaryRule } from './unary.js';

export const erfRule = unaryRule('erf');
