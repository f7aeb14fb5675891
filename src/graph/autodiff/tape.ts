/**
 * Reverse-mode autodiff over executor runs. A `Tape` passed to `Executor.run` records,
 * for every node that depends on a trainable tensor (an override with `trainable`), the
 * forward values its gradient rule reads — as new handles, so the executor still frees
 * everything else at its last use. `backward` then walks the record in reverse from the
 * gradients of chosen outputs and returns the trainable tensors' gradients.
 *
 * Nothing is recorded or differentiated off that path: a node whose inputs do not depend
 * on a trainable tensor, or whose outputs are not float (Shape, Equal, Cast to int), is
 * not on it.
 */
import type { Backend } from '../../tensor/backend.js';
import { fmtDims, sameDims } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { opKey } from '../coverage.js';
import type { ExecNode } from '../executor.js';
import { sameAs, type Own } from '../ops/types.js';
import { Checkpoints, type Evaluate, type SegmentOf } from './checkpoint.js';
import { GRAD_RULES } from './rules/index.js';
import { NoGradientError, type GradCall, type GradRule, type NodeOverride } from './types.js';

interface Entry {
  node: ExecNode;
  opset: number;
  rule: GradRule | NodeOverride;
  isOverride: boolean;
  /** Saved forward values (new handles the tape owns), by input / output index. */
  inputs: (Tensor | undefined)[];
  outputs: (Tensor | undefined)[];
  inputDims: (readonly number[] | undefined)[];
  outputDims: (readonly number[] | undefined)[];
  /** Inputs that depend on a trainable tensor: the only ones whose gradient is wanted. */
  wants: boolean[];
  /** Checkpointed: values are recomputed in the backward (see checkpoint.ts). */
  segment?: string;
}

export interface TapeOptions {
  /** Value names (variable initializers) whose gradients `backward` returns too. */
  watch?: readonly string[];
  /** Gradient checkpointing: recompute these segments' activations in the backward (e.g. `byLayer`). */
  checkpoint?: SegmentOf;
}

const isFloat = (t: Tensor | undefined) => !!t && (t.dtype === 'float32' || t.dtype === 'float16');

export class Tape {
  private readonly entries: Entry[] = [];
  /** Values that depend on a trainable tensor. */
  private readonly tainted = new Set<string>();
  private backend: Backend | undefined;
  private evaluate: Evaluate | undefined;
  private used = false;
  private readonly watch: readonly string[];
  private readonly segmentOf: SegmentOf | undefined;
  private readonly checkpoints = new Checkpoints((t) => this.handle(t));

  constructor(opts: TapeOptions = {}) {
    this.watch = opts.watch ?? [];
    this.segmentOf = opts.checkpoint;
    for (const name of this.watch) this.tainted.add(name);
  }

  /** Called by the executor after each node it evaluates. */
  record(node: ExecNode, opset: number, inputs: (Tensor | undefined)[], outputs: (Tensor | undefined)[], override?: NodeOverride): void {
    const wants = node.inputs.map((v, i) => !!v && this.tainted.has(v) && isFloat(inputs[i]));
    const trainable = !!override?.trainable;
    if (!trainable && !wants.some(Boolean)) return;
    node.outputs.forEach((v, k) => v && isFloat(outputs[k]) && this.tainted.add(v));
    if (!node.outputs.some((v) => v && this.tainted.has(v))) return; // e.g. Shape of a tainted value
    const rule = override ?? GRAD_RULES[opKey(node.domain, node.opType)];
    if (!rule) throw new NoGradientError(node.opType, node.name);
    const keep = (list: readonly number[], ts: (Tensor | undefined)[]) =>
      ts.map((t, i) => (t && (list.includes(i) || t.location === 'cpu') ? this.handle(t) : undefined));
    const segment = this.segmentOf?.(node);
    const entry: Entry = {
      node, opset, rule, isOverride: !!override, segment, wants,
      inputs: segment ? [] : keep(rule.saves.inputs, inputs),
      outputs: segment ? [] : keep(rule.saves.outputs, outputs),
      inputDims: inputs.map((t) => t?.dims),
      outputDims: outputs.map((t) => t?.dims),
    };
    if (segment) {
      const restore = (ins: (Tensor | undefined)[], outs: (Tensor | undefined)[]) => {
        entry.inputs = keep(rule.saves.inputs, ins);
        entry.outputs = keep(rule.saves.outputs, outs);
      };
      this.checkpoints.record(segment, { node, override, restore }, inputs);
    }
    this.entries.push(entry);
  }

  private handle(t: Tensor): Tensor {
    if (!this.backend) throw new Error('Tape: call begin(backend) before the run');
    return sameAs(this.backend, t);
  }

  /** Binds the tape to the run's backend (and how to re-run a node, for checkpointing); a tape records one run. */
  begin(backend: Backend, evaluate?: Evaluate): this {
    if (this.used) throw new Error('Tape: a tape records one run; make a new one');
    this.used = true;
    this.backend = backend;
    this.evaluate = evaluate;
    return this;
  }

  /** How many nodes were recorded (the gradient path's length). */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Gradients given dL/d(output) for some graph values (the caller keeps ownership of
   * `seeds`): `overrides` by node name → { param → gradient }, `values` by watched name
   * (a watched value no gradient reached is absent). The tape's saved values are freed;
   * it cannot be replayed.
   */
  backward(seeds: Record<string, Tensor>): { overrides: Record<string, Record<string, Tensor>>; values: Record<string, Tensor> } {
    const b = this.backend;
    if (!b) throw new Error('Tape: nothing was recorded');
    const grads = new Map<string, Tensor>();
    for (const [name, t] of Object.entries(seeds)) grads.set(name, sameAs(b, t));
    const result: Record<string, Record<string, Tensor>> = {};
    const values: Record<string, Tensor> = {};
    try {
      for (let i = this.entries.length - 1; i >= 0; i--) {
        const e = this.entries[i];
        const dOutputs = e.node.outputs.map((v) => (v ? grads.get(v) : undefined));
        e.node.outputs.forEach((v) => v && grads.delete(v));
        if (e.segment && dOutputs.some(Boolean)) this.checkpoints.materialize(e.segment, this.evaluator());
        if (dOutputs.some(Boolean)) this.step(b, e, dOutputs, grads, result);
        for (const t of dOutputs) t?.dispose();
        this.free(e);
        if (e.segment) this.checkpoints.done(e.segment);
      }
      for (const name of this.watch) {
        const g = grads.get(name);
        if (g) (values[name] = g), grads.delete(name);
      }
    } finally {
      for (const t of grads.values()) t.dispose();
      this.dispose();
    }
    return { overrides: result, values };
  }

  private evaluator(): Evaluate {
    if (!this.evaluate) throw new Error('Tape: checkpointing needs the executor to re-run nodes (it passes itself in begin())');
    return this.evaluate;
  }

  private step(
    b: Backend, e: Entry, dOutputs: (Tensor | undefined)[], grads: Map<string, Tensor>, result: Record<string, Record<string, Tensor>>,
  ): void {
    const where = `${e.node.opType} node '${e.node.name}'`;
    e.outputDims.forEach((dims, k) => {
      const d = dOutputs[k];
      if (d && dims && !sameDims(d.dims, dims)) throw new Error(`${where}: gradient ${fmtDims(d.dims)} for output ${k}, expected ${fmtDims(dims)}`);
    });
    const call: GradCall = {
      backend: b, where, attrs: e.node.attributes, opset: e.opset, outputCount: e.node.outputs.length,
      inputs: e.inputs, inputDims: e.inputDims, outputs: e.outputs, dOutputs, wants: e.wants,
    };
    const made: Tensor[] = [];
    const own: Own = (t) => (t && made.push(t), t);
    let inputGrads: (Tensor | undefined)[] = [];
    let params: Record<string, Tensor> = {};
    try {
      if (e.isOverride) ({ inputs: inputGrads, params } = (e.rule as NodeOverride).grad(call, own));
      else inputGrads = (e.rule as GradRule).grad(call, own);
      if (e.isOverride) result[e.node.name] = params;
    } finally {
      const returned = new Set([...inputGrads, ...Object.values(params)]);
      for (const t of made) if (!returned.has(t)) t.dispose();
    }
    e.node.inputs.forEach((v, i) => {
      const g = inputGrads[i];
      if (!g) return;
      if (!v || !e.wants[i]) return g.dispose();
      const prev = grads.get(v);
      if (!prev) return grads.set(v, g);
      grads.set(v, b.binary('add', prev, g));
      prev.dispose();
      g.dispose();
    });
  }

  private free(e: Entry): void {
    for (const t of [...e.inputs, ...e.outputs]) t?.dispose();
    e.inputs = [];
    e.outputs = [];
  }

  /** Frees what the tape holds without a backward (an aborted step). */
  dispose(): void {
    for (const e of this.entries) this.free(e);
    this.entries.length = 0;
    this.checkpoints.dispose();
  }
}
