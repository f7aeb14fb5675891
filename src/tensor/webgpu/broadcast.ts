/**
 * Host-side index plans for the broadcasting kernels (binary, binary_backward, where,
 * sum_to_shape). Adjacent axes that every input walks contiguously (or all broadcast
 * together) are merged first, so a same-shape op runs as rank 1 and a row broadcast as
 * rank 2: the kernels do one div/mod per remaining axis per element, not one per
 * original axis.
 */
import { broadcastStrides, fmtDims } from '../shape.js';

/** Axes the kernels' uniforms have room for (one vec4<u32> per axis). */
export const MAX_RANK = 8;

export interface BroadcastPlan {
  /** Output elements. */
  n: number;
  /** Merged output dims, outermost first (at least one axis). */
  dims: number[];
  /** Per input, its element stride along each merged axis (0 where broadcast). */
  strides: number[][];
}

/** Plans reading each of `inputs` broadcast to `outDims` (shapes already checked). */
export function broadcastPlan(outDims: readonly number[], inputs: readonly (readonly number[])[], what: string): BroadcastPlan {
  const full = inputs.map((d) => broadcastStrides(d, outDims));
  const dims: number[] = [];
  const strides: number[][] = inputs.map(() => []);
  // Walk inner → outer; an axis joins the current group when, for every input, stepping
  // it is the same as stepping past the whole group (contiguous, or broadcast in both).
  for (let i = outDims.length - 1; i >= 0; i--) {
    const d = outDims[i];
    if (d === 1) continue;
    const g = dims.length - 1;
    if (g >= 0 && full.every((s, k) => s[i] === strides[k][g] * dims[g])) {
      dims[g] *= d;
    } else {
      dims.push(d);
      full.forEach((s, k) => strides[k].push(s[i]));
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    strides.forEach((s) => s.push(0));
  }
  if (dims.length > MAX_RANK) {
    throw new Error(`${what}: output ${fmtDims(outDims)} needs ${dims.length} axes after merging; the kernels handle ${MAX_RANK}`);
  }
  dims.reverse();
  strides.forEach((s) => s.reverse());
  return { n: dims.reduce((a, b) => a * b, 1), dims, strides };
}

/** `values` padded with `fill` to MAX_RANK entries. */
export function padded(values: readonly number[], fill: number): number[] {
  return [...values, ...new Array<number>(MAX_RANK - values.length).fill(fill)];
}

/**
 * Uniform words for the broadcast kernels (binary, binary_backward, where): n, 3 pad,
 * then per axis one vec4 (dim, stride of input 0, of input 1, of input 2).
 */
export function planUniforms(p: BroadcastPlan): number[] {
  const words = [p.n, 0, 0, 0];
  for (let k = 0; k < MAX_RANK; k++) {
    words.push(p.dims[k] ?? 1, p.strides[0]?.[k] ?? 0, p.strides[1]?.[k] ?? 0, p.strides[2]?.[k] ?? 0);
  }
  return words;
}

/** RANK and VEC overrides (compile-time: at most 8 × 2 pipelines per op) and the workgroup count. */
export function planLaunch(p: BroadcastPlan, wg: number): { constants: { RANK: number; VEC: number }; workgroups: number } {
  const vec = p.dims[p.dims.length - 1] % 4 === 0 ? 4 : 1;
  return { constants: { RANK: p.dims.length, VEC: vec }, workgroups: Math.ceil(p.n / (wg * vec)) };
}
