/** Gradient rules for layout ops: data moves, so gradients move back (and sum where copies were made). */
import type { GradRule } from '../../types.js';
import { concatRule } from './concat.js';
import { expandRule } from './expand.js';
import { gatherRule } from './gather.js';
import { reshapeRule } from './reshape.js';
import { sliceRule } from './slice.js';
import { splitRule } from './split.js';
import { tileRule } from './tile.js';
import { transposeRule } from './transpose.js';

export const LAYOUT_RULES: Record<string, GradRule> = {
  Reshape: reshapeRule,
  Flatten: reshapeRule,
  Squeeze: reshapeRule,
  Unsqueeze: reshapeRule,
  Transpose: transposeRule,
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Expand: expandRule,
  Gather: gatherRule,
  Tile: tileRule,
};
