import type { GradRule } from '../../types.js';

export const LINEAR_RULES: Record<string, GradRule> = {};
