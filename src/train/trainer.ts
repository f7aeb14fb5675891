/**
 * `Trainer`: fine-tunes the active adapter of a TrainableModel, with transformers' Trainer
 * defaults where it has one (AdamW lr 5e-5, betas (0.9, 0.999), eps 1e-8, no weight
 * decay, linear schedule, max_grad_norm 1.0, seed 42, 3 epochs).
 *
 * One optimizer step = `gradientAccumulationSteps` pre-made batches (token-weighted, see
 * accumulate.ts) → clip to `maxGradNorm` → AdamW at lr·schedule(step) → events. The adapter
 * tensors are updated in place on the backend; only the loss and the gradient norm are
 * read back per step.
 *
 * Everything random is a pure function of (seed, position): the batch order of epoch e is a
 * permutation seeded by (seed, e), and the dropout seed of micro-batch j of step s is mixed
 * from (seed, s, j). So the same seed gives the same run, and a checkpoint needs only the
 * step count to continue the same curve (`Trainer.resume`).
 */
import type { TrainableModel } from '../peft/step.js';
import { lowbias32 } from '../tensor/dropout.js';
import { seededRandom } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { accumulateGradients, type MicroBatch } from './accumulate.js';
import { clipGradNorm, gradNorm } from './clip.js';
import { evaluate, type Batch } from './metrics.js';
import { AdamW, ADAMW_DEFAULTS, type AdamWState } from './optimizer.js';
import { getSchedule, type Schedule, type SchedulerName } from './schedule.js';

export type { Batch } from './metrics.js';

export interface EarlyStoppingOptions {
  /** Evaluations without improvement before stopping (transformers' early_stopping_patience). */
  patience: number;
  /** An eval metric name (default 'loss'). */
  metric?: string;
  /** Default 'max' for accuracy and f1, 'min' otherwise. */
  mode?: 'min' | 'max';
  /** An improvement must beat the best by more than this (default 0). */
  threshold?: number;
}

export interface StepEvent {
  type: 'step';
  /** Optimizer steps done (1-based: this step's number). */
  step: number;
  /** Epochs done, fractional: step / stepsPerEpoch. */
  epoch: number;
  /** Token-weighted mean loss of this step's batches, before the update. */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** Global gradient L2 norm before clipping. */
  gradNorm: number;
  /** Input tokens (attention_mask ones, else input_ids elements) per second since train() started. */
  tokensPerSecond: number;
  /** Remaining steps × mean step time so far in this train() call. */
  etaSeconds: number;
}

export interface EvalEvent {
  type: 'eval';
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

export type TrainerEvent = StepEvent | EvalEvent;

export interface TrainerOptions {
  /** Pre-made batches: the model's inputs plus optional `labels` (causal LM: input_ids, -100 = ignore). */
  train: readonly Batch[];
  /** Passes over `train` (default 3); ignored when maxSteps is set. */
  epochs?: number;
  /** Total optimizer steps; overrides epochs (the data cycles as needed). */
  maxSteps?: number;
  /** Batches per optimizer step (default 1); an epoch's last step may take fewer. */
  gradientAccumulationSteps?: number;
  lr?: number;
  weightDecay?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** Default 'linear'. */
  scheduler?: SchedulerName;
  warmupSteps?: number;
  /** Warmup as a fraction of the total steps (rounded up); used when warmupSteps is not given. */
  warmupRatio?: number;
  /** Default 1.0; 0 turns clipping off (the norm is still reported). */
  maxGradNorm?: number;
  /** Default 42. */
  seed?: number;
  /** Shuffle the order of the batches each epoch (default true). */
  shuffle?: boolean;
  eval?: readonly Batch[];
  /** Evaluate every this many steps (default: once per epoch when `eval` is given). */
  evalEvery?: number;
  earlyStopping?: EarlyStoppingOptions;
  /** Checked between steps: training stops cleanly after the current step. */
  signal?: AbortSignal;
  onEvent?: (e: TrainerEvent) => void | Promise<void>;
}

export interface TrainResult {
  /** Optimizer steps done in all (including steps before a resume). */
  step: number;
  epoch: number;
  stopped: 'completed' | 'aborted' | 'early_stopping';
  /** This call's events, in order. */
  events: TrainerEvent[];
}

/** Everything `Trainer.resume` needs; arrays are host copies. */
export interface TrainerCheckpoint {
  step: number;
  epoch: number;
  adapterName: string;
  /** The adapter's tensors by PEFT name. */
  adapter: Record<string, Float32Array>;
  optimizer: AdamWState;
  /** The schedule's position (the next step uses multiplier(step)) and the shape it had. */
  scheduler: { name: SchedulerName; step: number; totalSteps: number; warmupSteps: number };
  /** Data order and dropout seeds are pure functions of (seed, step). */
  rng: { seed: number; step: number };
  earlyStopping: { best: number | null; badEvals: number };
}

const posInt = (v: number, what: string) => {
  if (!Number.isInteger(v) || v < 1) throw new Error(`Trainer: ${what} must be an integer ≥ 1, got ${v}`);
  return v;
};

/** A u32 seed from the run seed and a position. */
export function mixSeed(seed: number, ...position: number[]): number {
  let h = lowbias32(seed >>> 0);
  for (const p of position) h = lowbias32((h ^ p) >>> 0);
  return h;
}

/** Fisher–Yates order of n batches for epoch e. */
function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (!shuffle) return order;
  const rand = seededRandom(mixSeed(seed, 0x5eed, epoch));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** Input tokens of a batch: attention_mask ones when it is on the host, else input_ids elements. */
function inputTokens(batch: Batch): number {
  const mask = batch.attention_mask;
  if (mask && mask.location === 'cpu') {
    let n = 0;
    for (const v of mask.hostData()) n += Number(v);
    return n;
  }
  return (batch.input_ids ?? Object.values(batch)[0])?.size ?? 0;
}

export class Trainer {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly warmupSteps: number;
  readonly seed: number;
  private readonly accumulation: number;
  private readonly schedule: Schedule;
  private readonly optimizer: AdamW;
  private readonly params: Record<string, Tensor>;
  private readonly tokensOf: number[];
  private readonly evalEvery: number;
  private readonly orders = new Map<number, number[]>();
  private done = 0;
  private best: number | null = null;
  private badEvals = 0;
  private running = false;

  constructor(readonly peft: TrainableModel, readonly options: TrainerOptions) {
    const o = options;
    if (!o.train?.length) throw new Error('Trainer: `train` needs at least one batch');
    this.accumulation = posInt(o.gradientAccumulationSteps ?? 1, 'gradientAccumulationSteps');
    this.stepsPerEpoch = Math.ceil(o.train.length / this.accumulation);
    this.totalSteps = o.maxSteps !== undefined ? posInt(o.maxSteps, 'maxSteps') : posInt(o.epochs ?? 3, 'epochs') * this.stepsPerEpoch;
    this.warmupSteps = o.warmupSteps ?? Math.ceil((o.warmupRatio ?? 0) * this.totalSteps);
    this.schedule = getSchedule(o.scheduler ?? 'linear', { warmupSteps: this.warmupSteps, totalSteps: this.totalSteps });
    this.seed = o.seed ?? 42;
    if (!Number.isInteger(this.seed)) throw new Error(`Trainer: seed must be an integer, got ${this.seed}`);
    this.evalEvery = o.eval?.length ? posInt(o.evalEvery ?? this.stepsPerEpoch, 'evalEvery') : 0;
    if (o.earlyStopping && !this.evalEvery) throw new Error('Trainer: earlyStopping needs `eval` batches to measure its metric on');
    if (o.earlyStopping) posInt(o.earlyStopping.patience, 'earlyStopping.patience');
    this.tokensOf = o.train.map(inputTokens);
    this.params = peft.adapterTensors();
    this.optimizer = new AdamW(peft.base.backend, this.params, {
      lr: o.lr ?? ADAMW_DEFAULTS.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay,
    });
  }

  /** Optimizer steps done so far. */
  get step(): number {
    return this.done;
  }

  get epoch(): number {
    return this.done / this.stepsPerEpoch;
  }

  /** The learning rate optimizer step k (0-based) uses. */
  lrAt(k: number): number {
    return this.optimizer.lr * this.schedule(k);
  }

  /** Runs to the end (or abort / early stop) and returns what was done. */
  async train(): Promise<TrainResult> {
    const it = this.iterate();
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  /** The same run as `train()`, one event at a time: `for await (const e of trainer.iterate())`. */
  async *iterate(): AsyncGenerator<TrainerEvent, TrainResult, void> {
    if (this.running) throw new Error('Trainer: already training; one train() / iterate() at a time');
    this.running = true;
    try {
      return yield* this.run();
    } finally {
      this.running = false;
    }
  }

  private async *run(): AsyncGenerator<TrainerEvent, TrainResult, void> {
    const events: TrainerEvent[] = [];
    const emit = async (e: TrainerEvent) => {
      events.push(e);
      await this.options.onEvent?.(e);
    };
    const result = (stopped: TrainResult['stopped']): TrainResult => ({ step: this.done, epoch: this.epoch, stopped, events });
    const t0 = performance.now();
    const startStep = this.done;
    let tokens = 0;
    while (this.done < this.totalSteps) {
      if (this.options.signal?.aborted) return result('aborted');
      const s = this.done;
      const micro = this.microBatches(s);
      const lr = this.lrAt(s);
      const { loss, gradNorm: norm } = await this.optimizerStep(s, micro, lr);
      this.done++;
      for (const m of micro) tokens += this.tokensOf[m.index];
      const elapsed = (performance.now() - t0) / 1000;
      const stepEvent: StepEvent = {
        type: 'step', step: this.done, epoch: this.epoch, loss, lr, gradNorm: norm,
        tokensPerSecond: elapsed > 0 ? tokens / elapsed : 0,
        etaSeconds: (elapsed / (this.done - startStep)) * (this.totalSteps - this.done),
      };
      await emit(stepEvent);
      yield stepEvent;
      if (this.evalEvery && this.done % this.evalEvery === 0) {
        const metrics = await this.evaluate();
        const ev: EvalEvent = { type: 'eval', step: this.done, epoch: this.epoch, metrics };
        await emit(ev);
        yield ev;
        if (this.shouldStop(metrics)) return result('early_stopping');
      }
    }
    return result('completed');
  }

  /** Metrics of the adapter on the eval batches (see metrics.ts). */
  evaluate(batches: readonly Batch[] | undefined = this.options.eval): Promise<Record<string, number>> {
    if (!batches?.length) throw new Error('Trainer.evaluate: no eval batches');
    return evaluate(this.peft, batches);
  }

  /** A host snapshot to continue from with `Trainer.resume`. */
  async checkpoint(): Promise<TrainerCheckpoint> {
    const adapter: Record<string, Float32Array> = {};
    // data() of a cpu tensor is the live array, which training keeps writing: copy.
    for (const [name, t] of Object.entries(this.params)) adapter[name] = Float32Array.from(await t.data<Float32Array>());
    return {
      step: this.done,
      epoch: this.epoch,
      adapterName: this.peft.activeAdapter,
      adapter,
      optimizer: await this.optimizer.state(),
      scheduler: { name: this.options.scheduler ?? 'linear', step: this.done, totalSteps: this.totalSteps, warmupSteps: this.warmupSteps },
      rng: { seed: this.seed, step: this.done },
      earlyStopping: { best: this.best, badEvals: this.badEvals },
    };
  }

  /**
   * A trainer that continues `checkpoint` on `peft`: its adapter tensors, optimizer state,
   * step, seed and early-stopping record are restored. `options` should be the original run's
   * (same data and totals) to continue the same curve; the schedule is rebuilt from them and
   * entered at the checkpoint's step, as transformers does on resume.
   */
  static resume(peft: TrainableModel, checkpoint: TrainerCheckpoint, options: TrainerOptions): Trainer {
    const c = checkpoint;
    if (options.seed !== undefined && options.seed !== c.rng.seed) {
      throw new Error(`Trainer.resume: options.seed ${options.seed} differs from the checkpoint's ${c.rng.seed}; omit it to continue the run`);
    }
    if (peft.activeAdapter !== c.adapterName) {
      throw new Error(`Trainer.resume: the checkpoint is of adapter '${c.adapterName}', the active adapter is '${peft.activeAdapter}'`);
    }
    const live = peft.adapterTensors();
    const tensors: Record<string, Tensor> = {};
    try {
      for (const [name, data] of Object.entries(c.adapter)) {
        const t = live[name];
        if (!t) throw new Error(`Trainer.resume: the checkpoint has '${name}', which adapter '${c.adapterName}' does not`);
        if (t.size !== data.length) throw new Error(`Trainer.resume: '${name}' has ${t.size} elements, the checkpoint ${data.length}`);
        // A copy: on cpu the adapter would otherwise share (and overwrite) the checkpoint's array.
        tensors[name] = new Tensor('float32', Float32Array.from(data), t.dims);
      }
    } finally {
      for (const t of Object.values(live)) t.dispose();
    }
    peft.setAdapterTensors(tensors);
    const trainer = new Trainer(peft, { ...options, seed: c.rng.seed });
    if (c.step > trainer.totalSteps) throw new Error(`Trainer.resume: the checkpoint is at step ${c.step}, past these options' ${trainer.totalSteps} steps`);
    trainer.optimizer.loadState(c.optimizer);
    trainer.done = c.step;
    trainer.best = c.earlyStopping.best;
    trainer.badEvals = c.earlyStopping.badEvals;
    return trainer;
  }

  /** Frees the optimizer state and the trainer's views of the adapter (the adapter stays). */
  dispose(): void {
    this.optimizer.dispose();
    for (const t of Object.values(this.params)) t.dispose();
  }

  /** Step s's batches: a slice of its epoch's order. */
  private microBatches(s: number): (MicroBatch & { index: number })[] {
    const epoch = Math.floor(s / this.stepsPerEpoch);
    const within = s % this.stepsPerEpoch;
    let order = this.orders.get(epoch);
    if (!order) {
      this.orders.clear(); // only the current epoch's order is ever needed again
      order = epochOrder(this.options.train.length, this.seed, epoch, this.options.shuffle ?? true);
      this.orders.set(epoch, order);
    }
    const k = this.accumulation;
    return order.slice(within * k, (within + 1) * k).map((index, j) => ({
      index, batch: this.options.train[index], seed: mixSeed(this.seed, s, j),
    }));
  }

  /** Gradients → clip → AdamW. Nothing is updated when the loss or the norm is not finite. */
  private async optimizerStep(s: number, micro: MicroBatch[], lr: number): Promise<{ loss: number; gradNorm: number }> {
    const b = this.peft.base.backend;
    const { loss, grads } = await accumulateGradients(this.peft, micro);
    try {
      const maxNorm = this.options.maxGradNorm ?? 1.0;
      const norm = maxNorm > 0 ? await clipGradNorm(b, grads, maxNorm) : await gradNorm(b, grads);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        throw new Error(`Trainer: step ${s + 1} has loss ${loss} and gradient norm ${norm}; the adapter was not updated (try a lower lr)`);
      }
      this.optimizer.step(grads, lr);
      return { loss, gradNorm: norm };
    } finally {
      for (const g of Object.values(grads)) g.dispose();
    }
  }

  private shouldStop(metrics: Record<string, number>): boolean {
    const es = this.options.earlyStopping;
    if (!es) return false;
    const name = es.metric ?? 'loss';
    const value = metrics[name];
    if (value === undefined) throw new Error(`Trainer: earlyStopping metric '${name}' is not among the eval metrics (${Object.keys(metrics).join(', ')})`);
    const mode = es.mode ?? (name === 'accuracy' || name === 'f1' ? 'max' : 'min');
    const threshold = es.threshold ?? 0;
    const better = this.best === null || (mode === 'min' ? value < this.best - threshold : value > this.best + threshold);
    if (better) {
      this.best = value;
      this.badEvals = 0;
    } else {
      this.badEvals++;
    }
    return this.badEvals >= es.patience;
  }
}
