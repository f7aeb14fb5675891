/**
 * Min (two inputs, broadcasting): dy goes to the smaller input, split evenly on ties; the
 * backend's binaryBackward sums each gradient back to its input's shape.
 */
import { binaryRule } from './binary.js';

export const minRule = binaryRule('min');
