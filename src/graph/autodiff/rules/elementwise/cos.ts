/** Cos: dx = −dy · sin x (the kernel's reduced-range sin, as the forward's cos). */
import { unaryRule } from './unary.js';

export const cosRule = unaryRule('cos');
