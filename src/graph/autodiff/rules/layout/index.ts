import type { GradRule } from '../../types.js';

export const LAYOUT_RULES: Record<string, GradRule> = {};
