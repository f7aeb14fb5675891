/**
 * Max (two inputs, broadcasting): dy goes to the larger input, split evenly on ties
 * (PyTorch's convention, which is also what central differences give at a tie); the
 * backend's binaryBackward sums each gradient back to its input's shape.
 */
import { binaryRule } from './binary.js';

export const maxRule = binaryRule('max');
