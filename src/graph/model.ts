/**
 * The model a user loads: an ONNX file read into the IR, its weights on a backend, an
 * executor that runs it, and the LoRA targets found in it. This is what
 * `import { loadModel } from 'webpeft'` returns.
 */
import { loadModelProto, modelToIr, type ByteSource, type LoadOptions } from '../onnx/index.js';
import type { ModelProto } from '../onnx/proto.js';
import type { Backend } from '../tensor/backend.js';
import { selectBackend, type BackendName } from '../tensor/index.js';
import type { Tensor } from '../tensor/tensor.js';
import { Executor, type RunOptions } from './executor.js';
import type { GraphIR, IrValue } from './ir.js';
import { findLoraTargets, type LoraTarget } from './targets.js';

export interface ModelOptions extends LoadOptions {
  /** A backend name ('auto' picks webgpu → gpujs → cpu), or a backend to share with other models. Default 'auto'. */
  backend?: BackendName | Backend;
}

/** Initializer values a Model runs with until restored, and the nodes whose overrides are skipped meanwhile. */
interface Swapped {
  values: ReadonlyMap<string, Tensor>;
  skip: ReadonlySet<string>;
}

export class Model {
  private cachedTargets: LoraTarget[] | undefined;
  private disposed = false;
  private swapped: Swapped | undefined;

  private constructor(
    /** The file name, path or URL the model was read from (`opts.name` when given): errors use it. */
    readonly file: string,
    /** The decoded graph: nodes in topological order, initializers, opsets, metadata. */
    readonly ir: GraphIR,
    readonly backend: Backend,
    /** Which backend answered and why, e.g. "webgpu unavailable: …; using gpujs (webasm)". */
    readonly backendNote: string,
    private readonly executor: Executor,
    /** The decoded file (external data resolved), kept for exports; its tensors share the IR's bytes. */
    private readonly proto: ModelProto | undefined,
  ) {}

  /** Reads the model and puts its weights on the backend; refuses unsupported ops before anything runs. */
  static async load(source: ByteSource, opts: ModelOptions = {}): Promise<Model> {
    const { backend: choice = 'auto', ...loadOpts } = opts;
    const { backend, note } = typeof choice === 'string' ? await selectBackend(choice) : { backend: choice, note: `${choice.name} (given)` };
    const { model, name } = await loadModelProto(source, loadOpts);
    const ir = modelToIr(model, name);
    return new Model(name, ir, backend, note, new Executor(ir, backend), model);
  }

  /**
   * A model over an IR built in memory (e.g. PEFT's merge_and_unload: the base IR with
   * merged initializers). `proto`, when given, is the ONNX file it stands for (for exports).
   */
  static fromIr(ir: GraphIR, backend: Backend, note: string, opts: { file?: string; proto?: ModelProto } = {}): Model {
    return new Model(opts.file ?? (ir.name || 'model.onnx'), ir, backend, note, new Executor(ir, backend), opts.proto);
  }

  /** The decoded ONNX file this model was loaded from (for exports); throws for models built with `fromIr` without one. */
  onnxProto(): ModelProto {
    if (!this.proto) throw new Error(`model '${this.file}' was built in memory and has no ONNX file to export from`);
    return this.proto;
  }

  /** What `run` must be fed: names, dtypes and dims (strings are symbolic sizes). */
  get inputs(): readonly IrValue[] {
    return this.ir.inputs;
  }

  get outputs(): readonly IrValue[] {
    return this.ir.outputs;
  }

  /** Every LoRA-able matmul with its Hugging Face module path (see graph/targets.ts). */
  targets(): LoraTarget[] {
    this.cachedTargets ??= findLoraTargets(this.ir);
    return this.cachedTargets.map((t) => ({ ...t, via: [...t.via] }));
  }

  /**
   * Runs the graph. Outputs (and any `fetch`ed intermediates) live on the backend and
   * belong to the caller: read them with `toArray()`, free them with `dispose()`.
   */
  run(feeds: Record<string, Tensor>, opts?: RunOptions): Promise<Record<string, Tensor>> {
    if (this.disposed) throw new Error(`model '${this.file}' was disposed`);
    const s = this.swapped;
    if (!s) return this.executor.run(feeds, opts);
    // Swapped weights under the run's own params; overrides on swapped nodes are dropped (their adapter is in the weights).
    const overrides = opts?.overrides && new Map([...opts.overrides].filter(([node]) => !s.skip.has(node)));
    return this.executor.run(feeds, { ...opts, overrides, params: new Map([...s.values, ...(opts?.params ?? [])]) });
  }

  /**
   * Runs with `values` in place of these initializers until `restoreWeights()`, and skips
   * run-time overrides on `skipOverrides` nodes meanwhile: PEFT's merge_adapter without
   * writing the frozen weights (they stay bit-identical, so restoring is exact). The
   * initializers are made variable (`makeTrainable`); the caller keeps owning `values`.
   */
  swapWeights(values: ReadonlyMap<string, Tensor>, skipOverrides: Iterable<string> = []): void {
    if (this.swapped) throw new Error(`model '${this.file}' already runs with swapped weights; restoreWeights() first`);
    this.makeTrainable(values.keys());
    this.swapped = { values: new Map(values), skip: new Set(skipOverrides) };
  }

  /** Ends `swapWeights`; returns the values that were swapped in (undefined if none were). */
  restoreWeights(): ReadonlyMap<string, Tensor> | undefined {
    const s = this.swapped;
    this.swapped = undefined;
    return s?.values;
  }

  /** The initializer values swapped in by `swapWeights`, if any. */
  get swappedWeights(): ReadonlyMap<string, Tensor> | undefined {
    return this.swapped?.values;
  }

  /** Lets these initializers be replaced per run (`run`'s `params`) and differentiated: see Executor.makeVariable. */
  makeTrainable(names: Iterable<string>): void {
    this.executor.makeVariable(names);
  }

  /** The backend's copy of a weight; training never writes it (tests read it back to check). */
  weight(name: string): Tensor | undefined {
    return this.executor.constant(name);
  }

  /** Frees the weights and cached plans on the backend. The backend itself stays usable. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.executor.dispose();
  }
}

/** `loadModel(source, { backend })`: a path (Node), URL, bytes, or File/Blob. */
export function loadModel(source: ByteSource, opts: ModelOptions = {}): Promise<Model> {
  return Model.load(source, opts);
}
