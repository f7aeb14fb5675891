/**
 * com.microsoft FastGelu: y = gelu_tanh(x [+ bias]), the tanh approximation (graph/ops/
 * contrib.ts), so dx is PyTorch's tanh GeluBackward at x + bias.
 */
import { biasedGeluRule } from './biasedGelu.js';

export const fastGeluRule = biasedGeluRule('gelu_tanh');
