/** Log: y = ln x, dx = dy / x. */
import { unaryRule } from './unary.js';

export const logRule = unaryRule('log');
