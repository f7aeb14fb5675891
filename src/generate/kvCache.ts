/**
 * The key/value cache of a decoder graph, found by input and output names:
 *
 *   split  (Optimum, GenAI builder): past_key_values.N.key / .value → present.N.key / .value,
 *          each (B, heads, P, head_dim)
 *   packed (GenAI GPT-2):            past_N → present_N, (2, B, heads, P, head_dim)
 *
 * In both the past length P is the second-to-last axis. The cache starts with P = 0
 * tensors of the declared dtype (float16 as raw half bits) and after every step holds the
 * presents the graph returned, which are fed back as the next step's pasts.
 */
import type { IrValue } from '../graph/ir.js';
import { Tensor, type DType } from '../tensor/tensor.js';

export interface CacheEntry {
  /** Graph input (past_key_values.0.key, past_0). */
  input: string;
  /** Graph output that holds the input's next value (present.0.key, present_0). */
  output: string;
  dtype: DType;
  /** Declared dims; the batch and past-length axes are symbolic. */
  dims: readonly (number | string)[];
  /** Axis of the batch size (0 split, 1 packed). */
  batchAxis: number;
}

export interface CacheLayout {
  kind: 'split' | 'packed';
  entries: CacheEntry[];
}

const SPLIT = /^past_key_values\.(\d+)\.(key|value)$/;
const PACKED = /^past_(\d+)$/;

/** The presents' names exporters use for a past input, in the order they are tried. */
function presentCandidates(input: string): string[] {
  const s = SPLIT.exec(input);
  if (s) return [`present.${s[1]}.${s[2]}`, `present_key_values.${s[1]}.${s[2]}`, `present_${s[1]}_${s[2]}`];
  const p = PACKED.exec(input)!;
  return [`present_${p[1]}`, `present.${p[1]}`];
}

/**
 * The graph's cache layout, or undefined when it has no past inputs (then each step
 * recomputes the whole sequence). Throws when past inputs exist but cannot be fed.
 */
export function detectCache(inputs: readonly IrValue[], outputs: readonly IrValue[]): CacheLayout | undefined {
  const split = inputs.filter((v) => SPLIT.test(v.name));
  const packed = inputs.filter((v) => PACKED.test(v.name));
  if (split.length === 0 && packed.length === 0) return undefined;
  if (split.length > 0 && packed.length > 0) {
    throw new Error(`the graph has both past_key_values.N.* and past_N inputs; expected one cache layout`);
  }
  const kind = split.length > 0 ? 'split' : 'packed';
  const outNames = new Set(outputs.map((o) => o.name));
  const entries = (kind === 'split' ? split : packed).map((v): CacheEntry => {
    const output = presentCandidates(v.name).find((n) => outNames.has(n));
    if (!output) {
      throw new Error(`past input '${v.name}' has no matching present output (looked for ${presentCandidates(v.name).join(', ')}); outputs: ${[...outNames].join(', ')}`);
    }
    const rank = kind === 'split' ? 4 : 5;
    const batchAxis = kind === 'split' ? 0 : 1;
    if (v.dims.length !== rank) {
      throw new Error(`past input '${v.name}' has dims [${v.dims.join(', ')}]; a ${kind} cache tensor has rank ${rank}`);
    }
    v.dims.forEach((d, i) => {
      if (typeof d === 'string' && i !== batchAxis && i !== rank - 2) {
        throw new Error(`past input '${v.name}' dims [${v.dims.join(', ')}]: axis ${i} is symbolic ('${d}'), so an empty cache cannot be built`);
      }
    });
    if (v.dtype !== 'float32' && v.dtype !== 'float16') throw new Error(`past input '${v.name}' is ${v.dtype}; expected float32 or float16`);
    return { input: v.name, output, dtype: v.dtype, dims: v.dims, batchAxis };
  });
  return { kind, entries };
}

/** The cache of one request (batch 1 unless given): pasts to feed, replaced by each step's presents. */
export class KvCache {
  private pasts = new Map<string, Tensor>();
  private length = 0;

  constructor(readonly layout: CacheLayout, private readonly batch = 1) {
    this.reset();
  }

  /** Tokens the cache holds (the past length of the next step). */
  get pastLength(): number {
    return this.length;
  }

  /** The past tensors to add to the next step's feeds (they stay owned by the cache). */
  feeds(): Record<string, Tensor> {
    return Object.fromEntries(this.pasts);
  }

  /**
   * Takes the step's presents out of `outputs` (deleting them there) as the next pasts and
   * frees the previous pasts, which the step has consumed.
   */
  update(outputs: Record<string, Tensor>): void {
    const next = new Map<string, Tensor>();
    for (const e of this.layout.entries) {
      const t = outputs[e.output];
      if (!t) throw new Error(`the step returned no '${e.output}'`);
      next.set(e.input, t);
      delete outputs[e.output];
    }
    this.disposePasts();
    this.pasts = next;
    const first = this.layout.entries[0];
    this.length = next.get(first.input)!.dims[first.dims.length - 2];
  }

  /** Back to P = 0 (freeing what it held). */
  reset(): void {
    this.disposePasts();
    this.pasts = new Map(this.layout.entries.map((e) => [e.input, emptyPast(e, this.batch)]));
    this.length = 0;
  }

  dispose(): void {
    this.disposePasts();
  }

  private disposePasts(): void {
    for (const t of this.pasts.values()) t.dispose();
    this.pasts.clear();
  }
}

/** A P = 0 past of the declared dtype: (B, heads, 0, head_dim) or (2, B, heads, 0, head_dim). */
export function emptyPast(e: CacheEntry, batch: number): Tensor {
  const dims = e.dims.map((d, i) => (i === e.batchAxis ? batch : i === e.dims.length - 2 ? 0 : (d as number)));
  return Tensor.zeros(e.dtype, dims);
}
