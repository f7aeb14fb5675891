/**
 * `getPeftModel(model, config)`: a loaded ONNX model with LoRA adapters on its target
 * modules. It runs like the model (`run(feeds)`), computes adapter gradients
 * (`computeGradients(batch)`), and names every adapter tensor as PEFT does
 * (`base_model.model.<module path>.lora_A.weight`), so adapters move between PEFT and
 * webpeft unchanged. The base model's weights are never written.
 */
import type { NodeOverride } from '../graph/autodiff/types.js';
import type { RunOptions } from '../graph/executor.js';
import type { Model } from '../graph/model.js';
import type { LoraTarget } from '../graph/targets.js';
import type { DropoutSpec } from '../tensor/backend.js';
import { fmtDims, sameDims } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { parseLoraConfig, type LoraConfig } from './config.js';
import { initLora, seededRandom } from './lora/init.js';
import { loraOverride, type LoraModule } from './lora/override.js';
import type { FolderSource, PeftFolderBytes } from '../io/peftFolder.js';
import { loadAdapter, saveAdapter } from './files.js';
import { fullPeftName, fullTensorNames, trainableCopy } from './fullTensors.js';
import { matchTargets } from './match.js';
import { gradientStep } from './step.js';
import * as merging from './merge.js';
import { addWeightedAdapter, type CombinationType } from './weighted.js';
import { exportMerged, exportWithLoraInputs, type LoraInputsExport, type LoraInputsExportOptions, type MergedExportOptions } from './export.js';
import type { OnnxExport } from '../graph/export.js';

/** One adapted module: where it sits and its tensors on the backend. */
export interface AdaptedModule extends LoraModule {
  target: LoraTarget;
  r: number;
  alpha: number;
}

export interface LoraAdapter {
  name: string;
  config: LoraConfig;
  /** By module path, in graph order. */
  modules: Map<string, AdaptedModule>;
  /** Trainable full copies (modules_to_save, trained biases) by initializer name. */
  full: Map<string, Tensor>;
  warnings: string[];
}

export interface PeftModelOptions {
  /** Seed for the initial adapter weights (default 0). */
  seed?: number;
}

export interface GradientsOptions {
  /** Dropout seed for this step; the same seed gives the same masks (default 0). */
  seed?: number;
  /** Gradient checkpointing: keep no layer's activations, recompute each layer in the backward. */
  checkpoint?: boolean;
}

export interface Gradients {
  loss: number;
  /** Label positions (causal LM) or rows (classification) that counted. */
  tokens: number;
  /** By PEFT tensor name: `base_model.model.<path>.lora_A.weight` (r, in) and `.lora_B.weight` (out, r). Caller owns them. */
  grads: Record<string, Tensor>;
}

/** PEFT's state-dict names for a module's adapter tensors (no adapter name, as PEFT saves them). */
export const peftName = (path: string, which: 'lora_A' | 'lora_B') => `base_model.model.${path}.${which}.weight`;

export class PeftModel {
  private readonly adapters = new Map<string, LoraAdapter>();
  private active: string;
  private disabled = false;

  constructor(
    readonly base: Model,
    config: LoraConfig | Record<string, unknown>,
    adapterName = 'default',
    opts: PeftModelOptions = {},
  ) {
    this.active = adapterName;
    this.addAdapter(adapterName, config, opts);
  }

  get activeAdapter(): string {
    return this.active;
  }

  /** The active adapter's task_type (picks the loss). */
  get taskType(): string | undefined {
    return this.adapter().config.taskType;
  }

  adapter(name = this.active): LoraAdapter {
    const a = this.adapters.get(name);
    if (!a) throw new Error(`no adapter '${name}'; adapters: ${[...this.adapters.keys()].join(', ') || '(none)'}`);
    return a;
  }

  /** Adds an adapter with freshly initialised weights (PEFT's init_lora_weights). */
  addAdapter(name: string, config: LoraConfig | Record<string, unknown>, opts: PeftModelOptions = {}): LoraAdapter {
    if (this.adapters.has(name)) throw new Error(`an adapter named '${name}' exists already`);
    const parsed = parseLoraConfig(config as Record<string, unknown>);
    const { matches, warnings } = matchTargets(this.base.targets(), parsed.config);
    const rand = seededRandom(opts.seed ?? 0);
    const modules = new Map<string, AdaptedModule>();
    for (const m of matches) {
      const t = m.target;
      const init = initLora(parsed.config.initLoraWeights, m.r, t.inFeatures, t.outFeatures, rand);
      const b = this.base.backend;
      modules.set(t.path, { target: t, r: m.r, alpha: m.alpha, scaling: m.scaling, a: b.upload(init.a), b: b.upload(init.b) });
    }
    const fullNames = fullTensorNames(this.base, parsed.config, matches.map((m) => m.target));
    this.base.makeTrainable(fullNames);
    const full = new Map(fullNames.map((n) => [n, trainableCopy(this.base, n)]));
    const adapter = { name, config: parsed.config, modules, full, warnings: [...parsed.warnings, ...warnings] };
    this.adapters.set(name, adapter);
    return adapter;
  }

  /** Makes `name` the adapter that `run` and `computeGradients` use; switching compiles nothing. */
  setAdapter(name: string): void {
    this.adapter(name);
    merging.unmergeAdapter(this); // as PEFT's set_adapter: a merged adapter comes out first
    this.active = name;
  }

  listAdapters(): string[] {
    return [...this.adapters.keys()];
  }

  /** Frees an adapter's tensors. The active adapter cannot be deleted while others exist. */
  deleteAdapter(name: string): void {
    const a = this.adapter(name);
    if (name === this.active && this.adapters.size > 1) throw new Error(`'${name}' is the active adapter; setAdapter() another one first`);
    if (merging.mergedAdapters(this).includes(name)) merging.unmergeAdapter(this);
    for (const m of a.modules.values()) (m.a.dispose(), m.b.dispose());
    for (const t of a.full.values()) t.dispose();
    this.adapters.delete(name);
  }

  /** Adds a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) as `name`. */
  loadAdapter(source: FolderSource, name: string, opts: { fetch?: typeof fetch } = {}): Promise<LoraAdapter> {
    return loadAdapter(this, source, name, opts);
  }

  /** Writes an adapter as PEFT's save_pretrained does; returns the files' bytes (and writes them to `dir` in Node). */
  saveAdapter(dir?: string, name = this.active): Promise<PeftFolderBytes> {
    return saveAdapter(this, dir, name);
  }

  /** Runs the base model alone until `enableAdapters()`. */
  disableAdapters(): void {
    merging.unmergeAdapter(this);
    this.disabled = true;
  }

  enableAdapters(): void {
    this.disabled = false;
  }

  /** The adapter's tensors by PEFT name (views of the live tensors: dispose them when done). */
  adapterTensors(name = this.active): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [path, m] of this.adapter(name).modules) {
      out[peftName(path, 'lora_A')] = this.base.backend.reshape(m.a, m.a.dims);
      out[peftName(path, 'lora_B')] = this.base.backend.reshape(m.b, m.b.dims);
    }
    for (const [init, t] of this.adapter(name).full) out[fullPeftName(init)] = this.base.backend.reshape(t, t.dims);
    return out;
  }

  /**
   * Replaces adapter tensors by PEFT name (a PEFT state dict, or an optimizer's update).
   * Every name must belong to the adapter and match its shape; nothing changes on error.
   */
  setAdapterTensors(tensors: Record<string, Tensor>, name = this.active): void {
    const adapter = this.adapter(name);
    const slots = slotsOf(adapter);
    for (const [key, t] of Object.entries(tensors)) {
      const slot = slots.get(key);
      if (!slot) throw new Error(`adapter '${name}' has no tensor '${key}'; its tensors are named like '${slots.keys().next().value}'`);
      const want = slot.get().dims;
      if (!sameDims(t.dims, want) || t.dtype !== 'float32') {
        throw new Error(`adapter '${name}' tensor '${key}': expected float32 ${fmtDims(want)}, got ${t.dtype} ${fmtDims(t.dims)}`);
      }
    }
    for (const [key, t] of Object.entries(tensors)) {
      const slot = slots.get(key)!;
      const old = slot.get();
      let mine = this.base.backend.upload(t);
      if (mine === t) mine = this.base.backend.reshape(t, t.dims); // cpu upload returns t: hold our own handle
      slot.set(mine);
      old.dispose();
    }
  }

  private overrides(dropout: ((i: number) => DropoutSpec | undefined) | undefined, trainable: boolean): Map<string, NodeOverride> {
    const map = new Map<string, NodeOverride>();
    if (this.disabled) return map;
    let i = 0;
    for (const m of this.adapter().modules.values()) {
      map.set(m.target.node, loraOverride(m.target.opType, m, { dropout: dropout?.(i++), trainable }));
    }
    return map;
  }

  /** Values for the active adapter's full tensors (none while adapters are disabled: the base's own). */
  private params(): Map<string, Tensor> {
    return this.disabled ? new Map() : new Map(this.adapter().full);
  }

  /** Inference with the active adapter (no dropout). */
  run(feeds: Record<string, Tensor>, opts: RunOptions = {}): Promise<Record<string, Tensor>> {
    return this.base.run(feeds, { ...opts, overrides: this.overrides(undefined, false), params: this.params() });
  }

  /**
   * One forward and backward: the loss on `batch` (the model's inputs plus optional
   * `labels`) and the gradient of every adapter tensor. Causal LM labels default to
   * `input_ids` and are shifted inside; -100 marks positions that do not count.
   */
  async computeGradients(batch: Record<string, Tensor>, opts: GradientsOptions = {}): Promise<Gradients> {
    if (this.disabled) throw new Error('computeGradients: adapters are disabled; call enableAdapters() first');
    const adapter = this.adapter();
    const p = adapter.config.loraDropout;
    const seed = opts.seed ?? 0;
    const dropout = p > 0 ? (i: number) => ({ p, seed: (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0 }) : undefined;
    const r = await gradientStep({
      model: this.base, batch, taskType: adapter.config.taskType, overrides: this.overrides(dropout, true), params: this.params(),
      checkpoint: opts.checkpoint,
    });
    const grads: Record<string, Tensor> = {};
    for (const [init, g] of Object.entries(r.params)) grads[fullPeftName(init)] = g;
    for (const [path, m] of adapter.modules) {
      const g = r.overrides[m.target.node];
      if (!g) continue; // no gradient reached this module (it does not feed the logits)
      grads[peftName(path, 'lora_A')] = g.lora_A;
      grads[peftName(path, 'lora_B')] = g.lora_B;
    }
    return { loss: r.loss, tokens: r.tokens, grads };
  }

  /** Trainable (adapter) and total parameters, as PEFT's print_trainable_parameters counts them. */
  trainableParameters(): { trainable: number; total: number; percent: number } {
    let trainable = 0;
    for (const m of this.adapter().modules.values()) trainable += m.a.size + m.b.size;
    for (const t of this.adapter().full.values()) trainable += t.size;
    let base = 0;
    for (const t of this.base.ir.initializers.values()) if (t.dtype === 'float32' || t.dtype === 'float16') base += t.size;
    // Full copies replace base tensors in the count, as PEFT counts a module's copy once.
    let copied = 0;
    for (const t of this.adapter().full.values()) copied += t.size;
    const total = base - copied + trainable;
    return { trainable, total, percent: (100 * trainable) / total };
  }

  /** `trainable params: 8,192 || all params: 124,448,000 || trainable%: 0.0066`, and logs it. */
  printTrainableParameters(): string {
    const { trainable, total, percent } = this.trainableParameters();
    const line = `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${total.toLocaleString('en-US')} || trainable%: ${percent.toFixed(4)}`;
    console.log(line);
    return line;
  }

  /** Frees the adapters' tensors (the base model stays loaded). */
  dispose(): void {
    merging.unmergeAdapter(this);
    for (const a of this.adapters.values()) {
      for (const m of a.modules.values()) (m.a.dispose(), m.b.dispose());
      for (const t of a.full.values()) t.dispose();
    }
    this.adapters.clear();
  }

  // ── merge and export (logic in merge.ts, weighted.ts, export.ts) ──────────────

  /** PEFT's merge_adapter: the base runs with W + s·B·A swapped in and no LoRA branch on those modules (default: the active adapter). */
  mergeAdapter(adapterNames?: string[]): Promise<void> {
    return merging.mergeAdapter(this, adapterNames);
  }

  /** PEFT's unmerge_adapter: the frozen weights (never written, so exactly restored) and the LoRA branches again. */
  unmergeAdapter(): void {
    merging.unmergeAdapter(this);
  }

  /** The adapters mergeAdapter merged; empty when unmerged. */
  mergedAdapters(): string[] {
    return merging.mergedAdapters(this);
  }

  /** PEFT's merge_and_unload, as a new Model with merged initializers; this model and its base are left as they are. */
  mergeAndUnload(opts?: merging.MergeOptions): Promise<Model> {
    return merging.mergeAndUnload(this, opts);
  }

  /** PEFT's add_weighted_adapter ('linear' or 'cat'; 'svd' is not implemented). */
  addWeightedAdapter(adapters: string[], weights: number[], name: string, combinationType: CombinationType): Promise<LoraAdapter> {
    return addWeightedAdapter(this, adapters, weights, name, combinationType);
  }

  /** The base ONNX file with the merged weights in its initializers. */
  exportMerged(opts?: MergedExportOptions): Promise<OnnxExport> {
    return exportMerged(this, opts);
  }

  /** The base ONNX file with LoRA A/B as graph inputs on every adapted matmul, and the tensors to feed them. */
  exportWithLoraInputs(opts?: LoraInputsExportOptions): Promise<LoraInputsExport> {
    return exportWithLoraInputs(this, opts);
  }
}

interface Slot {
  get(): Tensor;
  set(t: Tensor): void;
}

/** Every trainable tensor of an adapter by PEFT name, with a way to replace it. */
function slotsOf(adapter: LoraAdapter): Map<string, Slot> {
  const slots = new Map<string, Slot>();
  for (const [path, m] of adapter.modules) {
    slots.set(peftName(path, 'lora_A'), { get: () => m.a, set: (t) => (m.a = t) });
    slots.set(peftName(path, 'lora_B'), { get: () => m.b, set: (t) => (m.b = t) });
  }
  for (const init of adapter.full.keys()) {
    slots.set(fullPeftName(init), { get: () => adapter.full.get(init)!, set: (t) => adapter.full.set(init, t) });
  }
  return slots;
}

export function getPeftModel(
  model: Model, config: LoraConfig | Record<string, unknown>, adapterName = 'default', opts: PeftModelOptions = {},
): PeftModel {
  return new PeftModel(model, config, adapterName, opts);
}
