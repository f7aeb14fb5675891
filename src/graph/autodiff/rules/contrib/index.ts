import type { GradRule } from '../../types.js';

/** com.microsoft attention-family rules, keyed `com.microsoft::<op>`. */
export const CONTRIB_RULES: Record<string, GradRule> = {};
