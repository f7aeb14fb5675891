/**
 * Full and partial fine-tuning through the same engine as LoRA: chosen initializers
 * (all float weights, or biases, norms, the last N layers ...) become trainable copies;
 * everything else stays frozen. Gradients and tensors are keyed by initializer name, as
 * a Hugging Face state dict names them when the exporter kept the names.
 */
import type { Model } from '../graph/model.js';
import type { RunOptions } from '../graph/executor.js';
import type { Tensor } from '../tensor/tensor.js';
import { fmtDims, sameDims } from '../tensor/shape.js';
import type { TaskType } from './config.js';
import { trainableCopy } from './fullTensors.js';
import type { Gradients } from './model.js';
import { gradientStep } from './step.js';

export interface FullFineTuneOptions {
  /** Which initializers train: 'all' float32 weights, a list of names, a regex, or a predicate. */
  trainable: 'all' | readonly string[] | RegExp | ((name: string) => boolean);
  taskType?: TaskType;
}

export class FullFineTuneModel {
  private readonly tensors = new Map<string, Tensor>();
  readonly taskType: TaskType | undefined;
  /** Checkpoints name what they hold; full fine-tuning has one set of tensors. */
  readonly activeAdapter = 'full';

  constructor(
    readonly base: Model,
    opts: FullFineTuneOptions,
  ) {
    this.taskType = opts.taskType;
    const names = selectNames(base, opts.trainable);
    base.makeTrainable(names);
    for (const n of names) this.tensors.set(n, trainableCopy(base, n));
  }

  run(feeds: Record<string, Tensor>, opts: RunOptions = {}): Promise<Record<string, Tensor>> {
    return this.base.run(feeds, { ...opts, params: new Map(this.tensors) });
  }

  /** Loss and the gradient of every trainable tensor, by initializer name (caller owns them). */
  async computeGradients(batch: Record<string, Tensor>): Promise<Gradients> {
    const r = await gradientStep({ model: this.base, batch, taskType: this.taskType, overrides: new Map(), params: new Map(this.tensors) });
    return { loss: r.loss, tokens: r.tokens, grads: r.params };
  }

  /** Views of the trainable tensors by name (dispose them when done). */
  trainableTensors(): Record<string, Tensor> {
    return Object.fromEntries([...this.tensors].map(([n, t]) => [n, this.base.backend.reshape(t, t.dims)]));
  }

  /** Replaces trainable tensors by name; checks every one first, so nothing changes on error. */
  setTrainableTensors(next: Record<string, Tensor>): void {
    for (const [n, t] of Object.entries(next)) {
      const cur = this.tensors.get(n);
      if (!cur) throw new Error(`'${n}' is not a trainable tensor of this model (${this.tensors.size} are, e.g. '${this.tensors.keys().next().value}')`);
      if (t.dtype !== 'float32' || !sameDims(t.dims, cur.dims)) throw new Error(`'${n}': expected float32 ${fmtDims(cur.dims)}, got ${t.dtype} ${fmtDims(t.dims)}`);
    }
    for (const [n, t] of Object.entries(next)) {
      let mine = this.base.backend.upload(t);
      if (mine === t) mine = this.base.backend.reshape(t, t.dims);
      this.tensors.get(n)!.dispose();
      this.tensors.set(n, mine);
    }
  }

  /** The Trainer's names for the same two calls (it trains PeftModels and these alike). */
  adapterTensors(): Record<string, Tensor> {
    return this.trainableTensors();
  }

  setAdapterTensors(next: Record<string, Tensor>): void {
    this.setTrainableTensors(next);
  }

  trainableParameters(): { trainable: number; total: number; percent: number } {
    let trainable = 0;
    for (const t of this.tensors.values()) trainable += t.size;
    let total = 0;
    for (const t of this.base.ir.initializers.values()) if (t.dtype === 'float32' || t.dtype === 'float16') total += t.size;
    return { trainable, total, percent: (100 * trainable) / total };
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

function selectNames(base: Model, pick: FullFineTuneOptions['trainable']): string[] {
  const floats = [...base.ir.initializers].filter(([, t]) => t.dtype === 'float32' && t.size > 1).map(([n]) => n);
  let names: string[];
  if (pick === 'all') names = floats;
  else if (Array.isArray(pick)) {
    const known = new Set(floats);
    for (const n of pick) if (!known.has(n)) throw new Error(`fullFineTune: '${n}' is not a float32 weight of ${base.file}`);
    names = [...pick];
  } else if (pick instanceof RegExp) names = floats.filter((n) => pick.test(n));
  else names = floats.filter(pick as (n: string) => boolean);
  if (names.length === 0) throw new Error(`fullFineTune: nothing selected among ${floats.length} float32 weights of ${base.file} (e.g. ${floats.slice(0, 3).join(', ')})`);
  return names;
}

export function fullFineTune(model: Model, opts: FullFineTuneOptions): FullFineTuneModel {
  return new FullFineTuneModel(model, opts);
}
