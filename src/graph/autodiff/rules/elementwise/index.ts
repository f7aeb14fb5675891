import type { GradRule } from '../../types.js';
import { addRule } from './add.js';
import { binaryRule } from './binary.js';

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: addRule(false),
  Sub: addRule(true),
  Mul: binaryRule('mul'),
  Div: binaryRule('div'),
  Pow: binaryRule('pow'),
};
