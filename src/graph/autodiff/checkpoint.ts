/**
 * Gradient checkpointing: a segment's nodes (a transformer layer) keep none of their
 * activations during the forward, only the values that enter the segment from outside.
 * When the backward reaches the segment, its recorded nodes run again from those values
 * (LoRA dropout masks are seeded, so the recomputation is exact) and the segment's
 * activations live only until its backward is done. Peak memory then holds one layer's
 * activations instead of all of them, for one extra forward.
 */
import type { Tensor } from '../../tensor/tensor.js';
import type { ExecNode } from '../executor.js';
import type { NodeOverride } from './types.js';

/** Which segment a node belongs to; undefined: not checkpointed (its values are saved as usual). */
export type SegmentOf = (node: ExecNode) => string | undefined;

/**
 * Transformer layers as exporters name them: `/transformer/h.3/…`, `/model/layers.3/…`,
 * `/bert/encoder/layer.3/…`, `…blocks.3…`.
 */
export const byLayer: SegmentOf = (node) => /(?:^|[/.])(?:h|layers|layer|blocks|block)\.(\d+)(?=[/.]|$)/.exec(node.name)?.[1];

/** Runs one node as the executor does (the device op or the override), float16 widened. */
export type Evaluate = (node: ExecNode, inputs: (Tensor | undefined)[], override?: NodeOverride) => (Tensor | undefined)[];

export interface SegmentNode {
  node: ExecNode;
  override?: NodeOverride;
  /** Fills the node's saved values from the recomputed inputs and outputs. */
  restore(inputs: (Tensor | undefined)[], outputs: (Tensor | undefined)[]): void;
}

interface Segment {
  /** Values entering the segment, by name (handles the segment owns). */
  boundary: Map<string, Tensor>;
  nodes: SegmentNode[];
  /** Recomputed values while the segment's backward runs. */
  live: Map<string, Tensor> | undefined;
  pending: number;
}

export class Checkpoints {
  private readonly segments = new Map<string, Segment>();
  /** value name → segment of the recorded node that produced it. */
  private readonly producedIn = new Map<string, string>();

  constructor(private readonly handle: (t: Tensor) => Tensor) {}

  /** During the forward: remember the inputs that come from outside the segment. */
  record(seg: string, n: SegmentNode, inputs: (Tensor | undefined)[]): void {
    let s = this.segments.get(seg);
    if (!s) this.segments.set(seg, (s = { boundary: new Map(), nodes: [], live: undefined, pending: 0 }));
    n.node.inputs.forEach((v, i) => {
      const t = inputs[i];
      if (v && t && this.producedIn.get(v) !== seg && !s!.boundary.has(v)) s!.boundary.set(v, this.handle(t));
    });
    n.node.outputs.forEach((v) => v && this.producedIn.set(v, seg));
    s.nodes.push(n);
    s.pending++;
  }

  /** Before the backward of a node of `seg`: recompute the segment once. */
  materialize(seg: string, evaluate: Evaluate): void {
    const s = this.segments.get(seg)!;
    if (s.live) return;
    const live = (s.live = new Map());
    for (const n of s.nodes) {
      const ins = n.node.inputs.map((v) => (v ? (live.get(v) ?? s.boundary.get(v)) : undefined));
      const outs = evaluate(n.node, ins, n.override);
      n.node.outputs.forEach((v, k) => {
        const t = outs[k];
        if (!t) return;
        if (v) live.get(v)?.dispose();
        if (v) live.set(v, t);
        else t.dispose();
      });
      n.restore(ins, outs);
    }
  }

  /** After the backward of a node of `seg`: the last one frees the segment. */
  done(seg: string): void {
    const s = this.segments.get(seg)!;
    if (--s.pending > 0) return;
    this.free(s);
    this.segments.delete(seg);
  }

  private free(s: Segment): void {
    for (const t of s.live?.values() ?? []) t.dispose();
    for (const t of s.boundary.values()) t.dispose();
    s.live = undefined;
    s.boundary.clear();
  }

  dispose(): void {
    for (const s of this.segments.values()) this.free(s);
    this.segments.clear();
  }
}
