/**
 * Gradient rules for matmuls, softmax, normalizations and reductions. Op keys as
 * graph/coverage.ts `opKey`: the plain op type for the default domain, `com.microsoft::X`.
 */
import type { GradRule } from '../../types.js';
import { gemmRule } from './gemm.js';
import { layerNormalizationRule } from './layerNormalization.js';
import { matMulRule } from './matMul.js';
import { reduceRule } from './reduce.js';
import { simplifiedLayerNormRule } from './simplifiedLayerNorm.js';
import { skipNormRule } from './skipNorm.js';
import { softmaxRule } from './softmax.js';

export const LINEAR_RULES: Record<string, GradRule> = {
  MatMul: matMulRule,
  Gemm: gemmRule,
  Softmax: softmaxRule,
  LayerNormalization: layerNormalizationRule,
  // ORT registers SimplifiedLayerNormalization in the default domain too (graph/ops/registry.ts).
  SimplifiedLayerNormalization: simplifiedLayerNormRule,
  'com.microsoft::SimplifiedLayerNormalization': simplifiedLayerNormRule,
  'com.microsoft::SkipLayerNormalization': skipNormRule(false),
  'com.microsoft::SkipSimplifiedLayerNormalization': skipNormRule(true),
  // The opsets from which axes come from input 1, as graph/ops/registry.ts.
  ReduceSum: reduceRule('sum', 13),
  ReduceMean: reduceRule('mean', 18),
  ReduceMax: reduceRule('max', 18),
};
