/**
 * Runs a topologically ordered graph on any backend.
 *
 * Per input-shape signature a plan remembers which values are static (they depend only
 * on initializers and input shapes: the Shape→Gather→Concat→Reshape chains, casts of
 * fp16 weights, transposed weights). Those are computed on the first run with that
 * signature — on the host when small, else on the device — and reused afterwards. Every
 * other intermediate is disposed right after its last consumer.
 */
import type { Backend } from '../tensor/backend.js';
import { fmtDims } from '../tensor/shape.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import { HOST_OPS, type Attrs } from './fold/hostOps.js';
import { fromHostTensor, toTensor } from './fold/values.js';
import { formatMissingOps, opKey, unsupportedOps, type MissingOp } from './coverage.js';
import { CONTRIB_OPS, DEVICE_OPS, deviceOp, releaseOpCaches } from './ops/registry.js';
import { sameAs, type OpCall } from './ops/types.js';
import type { NodeOverride } from './autodiff/types.js';
import type { Tape } from './autodiff/tape.js';

export interface ExecNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Attrs;
}

export interface ExecValueInfo {
  name: string;
  dtype: DType;
  /** Numbers are fixed; strings are symbolic (batch, sequence). */
  dims: (number | string)[];
}

export interface ExecGraph {
  /** Topological order. */
  nodes: ExecNode[];
  initializers: Map<string, Tensor>;
  inputs: ExecValueInfo[];
  outputs: ExecValueInfo[];
  /** Opset per domain ('' is the default ONNX domain). */
  opsets: Record<string, number>;
}

/** Every op type the model needs that webpeft lacks, reported before anything runs. */
export class UnsupportedOpsError extends Error {
  constructor(readonly missing: MissingOp[]) {
    super(`this model uses ops webpeft does not support yet:\n${formatMissingOps(missing)}`);
    this.name = 'UnsupportedOpsError';
  }
}

export interface RunOptions {
  /** Intermediate values to return as well as the graph outputs (debugging). */
  fetch?: string[];
  /** Nodes (by name) whose op is replaced for this run: how tuners inject adapters. */
  overrides?: ReadonlyMap<string, NodeOverride>;
  /** Records what the backward needs; see autodiff/tape.ts. */
  tape?: Tape;
  /**
   * Return outputs the model declares float16 as the float32 values computed, without the
   * final narrowing (to compare with a float32 reference at float32 precision).
   */
  float32Outputs?: boolean;
  /** Values for initializers made variable (`makeVariable`): trainable copies, by initializer name. */
  params?: ReadonlyMap<string, Tensor>;
}

/** Host folding is for shape arithmetic, not for weights: above this many elements, use the device. */
const HOST_FOLD_LIMIT = 1 << 14;
/** Initializers at least this large are uploaded once at construction. */
const UPLOAD_MIN = 64;

interface Plan {
  /** Static values computed for this signature, shared across runs. */
  statics: Map<string, Tensor>;
  staticNodes: Set<number>;
}

export class Executor {
  private readonly constants = new Map<string, Tensor>();
  private readonly plans = new Map<string, Plan>();
  /** Values that depend on input shapes but not input values (Shape outputs and what follows). */
  private readonly shapeStatic = new Set<string>();
  /** value name → index of the last node that reads it. */
  private readonly lastUse = new Map<string, number>();
  private disposed = false;
  /** Initializers that may be replaced per run (trainable): never folded into constants. */
  private readonly variables = new Set<string>();

  constructor(
    readonly graph: ExecGraph,
    readonly backend: Backend,
  ) {
    const missing = unsupportedOps(graph, supportedOps());
    if (missing.length) throw new UnsupportedOpsError(missing);
    for (const [name, t] of graph.initializers) {
      const upload = backend.name !== 'cpu' && isFloat(t.dtype) && t.size >= UPLOAD_MIN;
      this.constants.set(name, this.promote(upload ? backend.upload(t) : t));
    }
    graph.nodes.forEach((n, i) => n.inputs.forEach((v) => v && this.lastUse.set(v, i)));
  }

  /**
   * Lets `names` (initializers) change between runs: what was folded from them is
   * dropped and recomputed per run, and `run`'s `params` may replace their values. A run
   * without a param uses the initializer itself.
   */
  makeVariable(names: Iterable<string>): void {
    const add = [...names].filter((n) => !this.variables.has(n));
    for (const name of add) {
      if (!this.graph.initializers.has(name)) throw new Error(`makeVariable: '${name}' is not an initializer of this model`);
    }
    if (add.length === 0) return;
    for (const name of add) this.variables.add(name);
    // Folded values may depend on them: forget every fold and plan (they rebuild on the next run).
    for (const [name, t] of this.constants) {
      if (this.graph.initializers.has(name)) continue;
      t.dispose();
      this.constants.delete(name);
    }
    for (const plan of this.plans.values()) for (const t of plan.statics.values()) t.dispose();
    this.plans.clear();
    this.shapeStatic.clear();
  }

  /** The executor's copy of an initializer (on the backend): for checks that weights stay frozen. */
  constant(name: string): Tensor | undefined {
    return this.constants.get(name);
  }

  /** Per-signature plans built so far (a new input shape builds one). */
  get planCount(): number {
    return this.plans.size;
  }

  async run(feeds: Record<string, Tensor>, opts: RunOptions = {}): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new Error('this executor was disposed');
    this.checkFeeds(feeds);
    opts.tape?.begin(this.backend, (node, ins, override) => this.evaluate(node, ins, false, override).map((t) => t && this.promote(t)));
    const sig = this.graph.inputs.map((i) => `${i.name}:${feeds[i.name]?.dims.join('x')}`).join('|');
    const cached = this.plans.get(sig);
    const plan: Plan = cached ?? { statics: new Map(), staticNodes: new Set() };
    const owned = new Set<string>();
    const inputs = Object.entries(feeds).map(([k, t]) => {
      if (t.dtype !== 'float16') return [k, t] as const;
      owned.add(k); // the run owns (and frees) the widened copy; the caller's tensor is left alone
      return [k, this.backend.cast(t, 'float32')] as const;
    });
    const values = new Map<string, Tensor>([...this.constants, ...plan.statics, ...inputs, ...this.checkParams(opts.params)]);
    const keep = new Set([...this.graph.outputs.map((o) => o.name), ...(opts.fetch ?? [])]);
    const { live, lastUse } = cached ? this.schedule(plan, keep) : { live: undefined, lastUse: this.lastUse };
    const result: Record<string, Tensor> = {};
    try {
      this.graph.nodes.forEach((node, i) => {
        if (live && !live[i]) return;
        const kind = cached ? 'dynamic' : this.classify(node);
        if (kind === 'const' && node.outputs.every((o) => !o || this.constants.has(o))) {
          plan.staticNodes.add(i); // folded already while another signature's plan was built
          return;
        }
        const override = opts.overrides?.get(node.name);
        const ins = node.inputs.map((v) => (v ? lookup(values, v, node) : undefined));
        const outs = this.evaluate(node, ins, kind !== 'dynamic', override).map((t) => t && this.promote(t));
        opts.tape?.record(node, this.opsetOf(node), ins, outs, override);
        dropUnnamed(node, outs);
        node.outputs.forEach((name, k) => {
          const t = outs[k];
          if (!name || !t) return;
          values.set(name, t);
          if (kind === 'const') this.constants.set(name, t);
          else if (kind === 'shape') plan.statics.set(name, t);
          else owned.add(name);
        });
        if (kind !== 'dynamic') plan.staticNodes.add(i);
        this.release(node, i, values, owned, keep, lastUse);
      });
      const missing = [...keep].find((name) => !values.has(name));
      if (missing) throw new Error(`value '${missing}' was not computed (not a graph value, or a dropped optional output)`);
      for (const name of keep) result[name] = this.handOut(name, values.get(name)!, owned.has(name), !opts.float32Outputs);
    } catch (err) {
      // A failed run frees what it computed and submits what it recorded (the pool gets
      // its upload buffers back on submit), so the executor and the device stay usable.
      for (const name of owned) values.get(name)?.dispose();
      if (!cached) for (const t of plan.statics.values()) t.dispose();
      await this.backend.sync();
      throw err;
    }
    if (!cached) this.plans.set(sig, plan);
    await this.backend.sync();
    return result;
  }

  /**
   * Frees what this executor put on the backend: uploaded and folded constants, every
   * plan's static values, ops' cached weights. The graph's own host initializers stay
   * intact, so the IR can be run again by a new executor.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const own = (name: string, t: Tensor) => this.graph.initializers.get(name) !== t;
    for (const [name, t] of this.constants) if (own(name, t)) t.dispose();
    for (const plan of this.plans.values()) for (const t of plan.statics.values()) t.dispose();
    for (const t of this.constants.values()) releaseOpCaches(t);
    this.constants.clear();
    this.plans.clear();
  }

  /**
   * 'const': depends on initializers only (kept for the executor's life, e.g. fp16
   * weights cast to f32); 'shape': depends on input shapes too (kept per signature);
   * 'dynamic': depends on input values. Only called while a signature's plan is built.
   */
  private classify(node: ExecNode): 'const' | 'shape' | 'dynamic' {
    if (node.opType === 'Shape') {
      node.outputs.forEach((o) => o && this.shapeStatic.add(o));
      return 'shape';
    }
    if (node.opType === 'RandomNormalLike' || node.opType === 'Dropout') return 'dynamic';
    let kind: 'const' | 'shape' = 'const';
    for (const v of node.inputs) {
      if (!v || (this.constants.has(v) && !this.variables.has(v))) continue;
      if (!this.shapeStatic.has(v)) return 'dynamic';
      kind = 'shape';
    }
    if (kind === 'shape') node.outputs.forEach((o) => o && this.shapeStatic.add(o));
    return kind;
  }

  /**
   * float16 is a storage type here: values are computed in float32 (no shader-f16 path
   * yet), so every float16 tensor entering the graph is widened once.
   */
  private promote(t: Tensor): Tensor {
    if (t.dtype !== 'float16') return t;
    const wide = this.backend.cast(t, 'float32');
    if (t.location !== 'cpu') t.dispose();
    return wide;
  }

  /**
   * The caller owns what `run` returns and may dispose it: a value the run owns is handed
   * over; a constant, static or fed value gets a new handle (a view, no copy), so the
   * executor's stays alive. Outputs the model declares float16 are narrowed back (unless
   * `narrow` is false), so callers get the model's contract.
   */
  private handOut(name: string, t: Tensor, owned: boolean, narrow: boolean): Tensor {
    const declared = this.graph.outputs.find((o) => o.name === name)?.dtype;
    if (!narrow || declared !== 'float16' || t.dtype !== 'float32') return owned ? t : sameAs(this.backend, t);
    const half = this.backend.cast(t, 'float16');
    if (owned) t.dispose();
    return half;
  }

  /**
   * For a run with a built plan: which nodes must run (not static, and something kept
   * depends on them: a Transpose read only by a Shape is not run again) and each
   * value's last reader among those.
   */
  private schedule(plan: Plan, keep: Set<string>): { live: boolean[]; lastUse: Map<string, number> } {
    const nodes = this.graph.nodes;
    const live = new Array<boolean>(nodes.length).fill(false);
    const needed = new Set(keep);
    const lastUse = new Map<string, number>();
    for (let i = nodes.length - 1; i >= 0; i--) {
      if (plan.staticNodes.has(i) || !nodes[i].outputs.some((o) => o && needed.has(o))) continue;
      live[i] = true;
      for (const v of nodes[i].inputs) {
        if (!v) continue;
        needed.add(v);
        if (!lastUse.has(v)) lastUse.set(v, i);
      }
    }
    return { live, lastUse };
  }

  /** Disposes values this node was the last reader of, unless kept or shared. */
  private release(
    node: ExecNode, i: number, values: Map<string, Tensor>, owned: Set<string>, keep: Set<string>, lastUse: Map<string, number>,
  ): void {
    for (const v of node.inputs) {
      if (!v || lastUse.get(v) !== i || keep.has(v) || !owned.has(v)) continue;
      values.get(v)?.dispose();
      owned.delete(v);
    }
    // Outputs nobody reads (e.g. LayerNorm's Mean) are dropped at once.
    for (const v of node.outputs) {
      if (v && owned.has(v) && !lastUse.has(v) && !keep.has(v)) {
        values.get(v)?.dispose();
        owned.delete(v);
      }
    }
  }

  /** `isStatic`: computed once per plan, so host folding may take larger inputs. */
  private evaluate(node: ExecNode, inputs: (Tensor | undefined)[], isStatic: boolean, override?: NodeOverride): (Tensor | undefined)[] {
    const opset = this.opsetOf(node);
    const where = `${node.opType} node '${node.name}'`;
    const defaultDomain = node.domain === '' || node.domain === 'ai.onnx';
    const host = defaultDomain ? HOST_OPS[node.opType] : undefined;
    const op = override?.forward ?? deviceOp(node.domain, node.opType);
    const limit = isStatic && !op ? Infinity : HOST_FOLD_LIMIT;
    const allHost = inputs.every((t) => !t || (t.location === 'cpu' && t.size <= limit));
    if (host && !override && (allHost || node.opType === 'Shape')) {
      const hv = inputs.map((t) => (!t ? undefined : node.opType === 'Shape' ? shapeOnly(t) : fromHostTensor(t)));
      return wrap(where, () => host(hv, node.attributes, opset).map(toTensor));
    }
    if (!op) throw new Error(`${where}: no device implementation, and its inputs are not host constants`);
    const call: OpCall = { backend: this.backend, where, attrs: node.attributes, opset, inputs, outputCount: node.outputs.length };
    return wrap(where, () => op(call));
  }

  private checkParams(params: ReadonlyMap<string, Tensor> | undefined): [string, Tensor][] {
    if (!params) return [];
    for (const [name, t] of params) {
      if (!this.variables.has(name)) throw new Error(`param '${name}' is not a variable initializer (call makeVariable first)`);
      const init = this.graph.initializers.get(name)!;
      if (t.dtype !== 'float32' || t.dims.join() !== init.dims.join()) {
        throw new Error(`param '${name}': expected float32 ${fmtDims(init.dims)}, got ${t.dtype} ${fmtDims(t.dims)}`);
      }
    }
    return [...params];
  }

  private opsetOf(node: ExecNode): number {
    return this.graph.opsets[node.domain] ?? this.graph.opsets[''];
  }

  private checkFeeds(feeds: Record<string, Tensor>): void {
    const known = new Set(this.graph.inputs.map((i) => i.name));
    for (const name of Object.keys(feeds)) {
      if (!known.has(name)) throw new Error(`unknown input '${name}'; the model's inputs are: ${[...known].join(', ')}`);
    }
    for (const info of this.graph.inputs) {
      if (this.graph.initializers.has(info.name) && !feeds[info.name]) continue; // an input with a default
      const t = feeds[info.name];
      if (!t) throw new Error(`missing input '${info.name}' (${info.dtype} ${fmtDims(info.dims as number[])})`);
      if (t.dtype !== info.dtype) throw new Error(`input '${info.name}': expected ${info.dtype}, got ${t.dtype}`);
      const ok = t.rank === info.dims.length && info.dims.every((d, i) => typeof d !== 'number' || d === t.dims[i]);
      if (!ok) throw new Error(`input '${info.name}': expected dims ${fmtDims(info.dims as number[])}, got ${fmtDims(t.dims)}`);
    }
  }
}

/** Op results the node leaves unnamed (LayerNormalization's Mean when only Y is wired): freed at once. */
function dropUnnamed(node: ExecNode, outs: (Tensor | undefined)[]): void {
  outs.forEach((t, k) => {
    if (!t || node.outputs[k]) return;
    if (outs.some((u, j) => u === t && node.outputs[j])) return;
    t.dispose();
  });
}

function lookup(values: Map<string, Tensor>, name: string, node: ExecNode): Tensor {
  const t = values.get(name);
  if (!t) throw new Error(`${node.opType} node '${node.name}': input '${name}' has no value (graph order or a missing initializer)`);
  return t;
}

/** Shape needs only dims: never read a device tensor back for it. */
function shapeOnly(t: Tensor) {
  return { dtype: t.dtype, dims: [...t.dims], values: [] as number[] };
}

function wrap<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const e = err as Error;
    if (e.message.startsWith(where)) throw e;
    throw new Error(`${where}: ${e.message}`, { cause: e });
  }
}

const isFloat = (d: DType) => d === 'float32' || d === 'float16';

/** Op keys (see `opKey`) this executor can run: device ops, contrib ops, host-foldable ops. */
export function supportedOps(): Set<string> {
  return new Set([
    ...Object.keys(DEVICE_OPS),
    ...Object.keys(HOST_OPS),
    ...Object.keys(CONTRIB_OPS).map((op) => opKey('com.microsoft', op)),
  ]);
}

export { Tensor };
