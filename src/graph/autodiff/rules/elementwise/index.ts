import type { GradRule } from '../../types.js';
import { absRule } from './abs.js';
import { addRule } from './add.js';
import { biasGeluRule } from './biasGelu.js';
import { binaryRule } from './binary.js';
import { castRule } from './cast.js';
import { cosRule } from './cos.js';
import { erfRule } from './erf.js';
import { expRule } from './exp.js';
import { fastGeluRule } from './fastGelu.js';
import { geluRule } from './gelu.js';
import { identityRule } from './identity.js';
import { logRule } from './log.js';
import { maxRule } from './max.js';
import { minRule } from './min.js';
import { negRule } from './neg.js';
import { quickGeluRule } from './quickGelu.js';
import { reciprocalRule } from './reciprocal.js';
import { reluRule } from './relu.js';
import { sigmoidRule } from './sigmoid.js';
import { sinRule } from './sin.js';
import { sqrtRule } from './sqrt.js';
import { tanhRule } from './tanh.js';
import { whereRule } from './where.js';

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: addRule(false),
  Sub: addRule(true),
  Mul: binaryRule('mul'),
  Div: binaryRule('div'),
  Pow: binaryRule('pow'),
  Max: maxRule,
  Min: minRule,
  Neg: negRule,
  Reciprocal: reciprocalRule,
  Sqrt: sqrtRule,
  Exp: expRule,
  Log: logRule,
  Tanh: tanhRule,
  Erf: erfRule,
  Sigmoid: sigmoidRule,
  Cos: cosRule,
  Sin: sinRule,
  Relu: reluRule,
  Abs: absRule,
  Gelu: geluRule,
  Where: whereRule,
  Cast: castRule,
  Identity: identityRule,
  'com.microsoft::FastGelu': fastGeluRule,
  'com.microsoft::BiasGelu': biasGeluRule,
  'com.microsoft::QuickGelu': quickGeluRule,
};
