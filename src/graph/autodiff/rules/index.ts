/**
 * Gradient rules by op key (`opKey(domain, opType)` from graph/coverage.ts: the plain op
 * type for the default domain, `com.microsoft::X` for contrib ops). One file per op,
 * grouped in folders that each export their own table.
 */
import type { GradRule } from '../types.js';
import { CONTRIB_RULES } from './contrib/index.js';
import { ELEMENTWISE_RULES } from './elementwise/index.js';
import { LAYOUT_RULES } from './layout/index.js';
import { LINEAR_RULES } from './linear/index.js';

export const GRAD_RULES: Record<string, GradRule> = { ...ELEMENTWISE_RULES, ...LAYOUT_RULES, ...LINEAR_RULES, ...CONTRIB_RULES };
