/**
 * Gradient rules for the com.microsoft ops that ONNX Runtime GenAI and transformers.js
 * models use, keyed `com.microsoft::<op>` (graph/coverage.ts `opKey`). One file per op;
 * attend.ts holds the attention backward the attention-family rules share.
 */
import type { GradRule } from '../../types.js';
import { attentionRule } from './attention.js';
import { embedLayerNormRule } from './embedLayerNorm.js';
import { groupQueryAttentionRule } from './groupQueryAttention.js';
import { matMulNBitsRule } from './matMulNBits.js';
import { multiHeadAttentionRule } from './multiHeadAttention.js';
import { rotaryEmbeddingRule } from './rotaryEmbedding.js';

export const CONTRIB_RULES: Record<string, GradRule> = {
  'com.microsoft::RotaryEmbedding': rotaryEmbeddingRule,
  'com.microsoft::MultiHeadAttention': multiHeadAttentionRule,
  'com.microsoft::Attention': attentionRule,
  'com.microsoft::GroupQueryAttention': groupQueryAttentionRule,
  'com.microsoft::EmbedLayerNormalization': embedLayerNormRule,
  'com.microsoft::MatMulNBits': matMulNBitsRule,
};
