/** Sin: dx = dy · cos x (the kernel's reduced-range cos, as the forward's sin). */
import { unaryRule } from './unary.js';

export const sinRule = unaryRule('sin');
