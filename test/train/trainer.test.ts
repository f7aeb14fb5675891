/**
 * The Trainer on the tiny fixture models: gradient accumulation (token-weighted) equals one
 * big batch, abort, early stopping, checkpoint + resume continues the same curve bit for
 * bit, the same seed gives the same run, eval metrics; and a few webgpu steps vs cpu.
 */
import { describe, expect, it } from 'vitest';
import { loadModel, type Model } from '../../src/graph/model.js';
import { getPeftModel, type PeftModel } from '../../src/peft/model.js';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import type { WebGpuBackend } from '../../src/tensor/webgpu/index.js';
import { accumulateGradients } from '../../src/train/accumulate.js';
import { classificationMetrics } from '../../src/train/metrics.js';
import { Trainer, type Batch, type StepEvent, type TrainerOptions } from '../../src/train/trainer.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { rng } from '../helpers/numeric.js';
import { scaleError } from '../helpers/ort.js';

const GPT2 = 'test/fixtures/models/tiny-gpt2/model.onnx';
const V = 97; // tiny models' vocabulary
// B ≠ 0 from the start (init_lora_weights false), so lora_A gets a gradient at step 1 too.
const LORA = { task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_proj', 'c_fc'], init_lora_weights: false };

const i64 = (v: number[], dims: number[]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);

function randomIds(rows: number, T: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: rows * T }, () => Math.floor(r() * V));
}

/** `n` causal-LM batches of `rows` × 7 tokens. */
const batches = (n: number, rows: number, seed: number): Batch[] =>
  Array.from({ length: n }, (_, i) => ({ input_ids: i64(randomIds(rows, 7, seed + i), [rows, 7]) }));

async function gpt2(b: Backend, config: Record<string, unknown> = LORA, seed = 3): Promise<{ base: Model; peft: PeftModel }> {
  const base = await loadModel(GPT2, { backend: b });
  return { base, peft: getPeftModel(base, config, 'default', { seed }) };
}

async function hostAdapter(peft: PeftModel): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(peft.adapterTensors())) (out[k] = await t.toArray(), t.dispose());
  return out;
}

const stepLosses = (events: { type: string }[]) => events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.loss);

describe('gradient accumulation', () => {
  // Row 0 counts 3 of its 6 label positions, row 1 all 6: token weighting matters.
  const ids = randomIds(2, 7, 11);
  const labels = [...ids];
  for (const p of [1, 2, 3]) labels[p] = -100;
  const row = (r: number) => ({ input_ids: i64(ids.slice(r * 7, r * 7 + 7), [1, 7]), labels: i64(labels.slice(r * 7, r * 7 + 7), [1, 7]) });
  const big = () => ({ input_ids: i64(ids, [2, 7]), labels: i64(labels, [2, 7]) });

  it('2 micro-batches of 1 row == 1 batch of 2 rows (loss and every gradient within 1e-6)', async () => {
    const { base, peft } = await gpt2(new CpuBackend());
    const whole = await peft.computeGradients(big());
    const acc = await accumulateGradients(peft, [{ batch: row(0), seed: 0 }, { batch: row(1), seed: 0 }]);
    expect(acc.tokens).toBe(whole.tokens);
    expect(whole.tokens).toBe(9);
    expect(Math.abs(acc.loss - whole.loss) / whole.loss).toBeLessThan(1e-6);
    expect(Object.keys(acc.grads).sort()).toEqual(Object.keys(whole.grads).sort());
    let worst = 0;
    for (const [k, g] of Object.entries(whole.grads)) worst = Math.max(worst, scaleError(await acc.grads[k].toArray(), await g.toArray()));
    // transformers' old weighting (each micro-batch's mean / k) differs: 3 vs 6 tokens per row.
    const [g0, g1] = [await peft.computeGradients(row(0)), await peft.computeGradients(row(1))];
    const name = Object.keys(whole.grads)[0];
    const a0 = await g0.grads[name].toArray();
    const a1 = await g1.grads[name].toArray();
    const equalWeights = a0.map((v, i) => (v + a1[i]) / 2);
    const equalErr = scaleError(equalWeights, await whole.grads[name].toArray());
    console.log(`[accumulate] token-weighted vs one batch: worst gradient error / scale ${worst.toExponential(2)}; equal weights (÷k) would be ${equalErr.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
    expect(equalErr).toBeGreaterThan(1e-3);
    peft.dispose();
    base.dispose();
  });

  it('the Trainer with gradientAccumulationSteps 2 reports the big batch loss', async () => {
    const { base, peft } = await gpt2(new CpuBackend());
    const want = (await peft.computeGradients(big())).loss;
    const t = new Trainer(peft, { train: [row(0), row(1)], gradientAccumulationSteps: 2, maxSteps: 1, shuffle: false });
    const r = await t.train();
    expect(Math.abs(stepLosses(r.events)[0] - want) / want).toBeLessThan(1e-6);
    expect(t.stepsPerEpoch).toBe(1);
    t.dispose();
    peft.dispose();
    base.dispose();
  });
});

describe('Trainer (cpu)', () => {
  // 3 batches, 2 per step: an epoch is 2 steps (the second takes one batch); 6 steps = 3 epochs,
  // shuffled per epoch; dropout on, so the seeds must be restored too.
  const train = batches(3, 2, 100);
  const opts = (extra: Partial<TrainerOptions> = {}): TrainerOptions => ({
    train, maxSteps: 6, gradientAccumulationSteps: 2, lr: 5e-3, weightDecay: 0.01, scheduler: 'linear', warmupSteps: 2, seed: 5, ...extra,
  });
  const dropout = { ...LORA, lora_dropout: 0.1 };

  it('6 steps straight == 3 steps + checkpoint + resume + 3 steps (bit-identical losses and adapter)', async () => {
    const b = new CpuBackend();
    const straight = await gpt2(b, dropout);
    const t1 = new Trainer(straight.peft, opts());
    const r1 = await t1.train();
    const want = stepLosses(r1.events);
    const wantLr = r1.events.map((e) => (e as StepEvent).lr);
    expect(want).toHaveLength(6);
    expect(wantLr).toEqual([0, 5e-3 / 2, 5e-3, 5e-3 * 3 / 4, 5e-3 / 2, 5e-3 / 4]); // linear, W = 2, N = 6

    const first = await gpt2(b, dropout);
    const ac = new AbortController();
    const t2 = new Trainer(first.peft, opts({ signal: ac.signal, onEvent: (e) => void (e.type === 'step' && e.step === 3 && ac.abort()) }));
    const r2 = await t2.train();
    expect([r2.stopped, r2.step, r2.epoch]).toEqual(['aborted', 3, 1.5]);
    const ckpt = await t2.checkpoint();
    expect([ckpt.step, ckpt.rng, ckpt.scheduler.totalSteps]).toEqual([3, { seed: 5, step: 3 }, 6]);

    // A fresh model with different initial weights: everything must come from the checkpoint.
    const second = await gpt2(b, dropout, 99);
    const t3 = Trainer.resume(second.peft, ckpt, opts({ seed: undefined }));
    const r3 = await t3.train();
    expect(r3.stopped).toBe('completed');
    expect(r3.events[0]).toMatchObject({ step: 4 });
    expect([...stepLosses(r2.events), ...stepLosses(r3.events)]).toEqual(want);
    expect(await hostAdapter(second.peft)).toEqual(await hostAdapter(straight.peft));
    console.log(`[resume] losses ${want.map((l) => l.toFixed(5)).join(' ')}: bit-identical after resume at step 3`);

    // The same seed gives the same run; another seed another (dropout masks and batch order).
    const again = await gpt2(b, dropout);
    expect(stepLosses((await new Trainer(again.peft, opts()).train()).events)).toEqual(want);
    const other = await gpt2(b, dropout);
    expect(stepLosses((await new Trainer(other.peft, opts({ seed: 6 })).train()).events)).not.toEqual(want);
    expect(() => Trainer.resume(other.peft, ckpt, opts({ seed: 7 }))).toThrow(/options.seed 7 differs from the checkpoint's 5/);
  });

  it('abort: a signal aborted before training does nothing; mid-run it stops after the current step', async () => {
    const { base, peft } = await gpt2(new CpuBackend());
    const before = await hostAdapter(peft);
    const pre = new Trainer(peft, opts({ signal: AbortSignal.abort() }));
    expect(await pre.train()).toMatchObject({ stopped: 'aborted', step: 0, events: [] });
    expect(await hostAdapter(peft)).toEqual(before);
    const ac = new AbortController();
    const seen: number[] = [];
    const mid = new Trainer(peft, opts({ signal: ac.signal }));
    for await (const e of mid.iterate()) {
      seen.push(e.step);
      if (e.step === 2) ac.abort();
    }
    expect(seen).toEqual([1, 2]);
    expect(mid.step).toBe(2);
    expect(await hostAdapter(peft)).not.toEqual(before);
    peft.dispose();
    base.dispose();
  });

  it('early stopping: patience evaluations without improvement stop the run', async () => {
    const { base, peft } = await gpt2(new CpuBackend());
    const evalSet = batches(1, 2, 200);
    // lr 0: the eval loss never improves on the first one, so patience 2 stops at the third eval.
    const still = new Trainer(peft, opts({ lr: 0, eval: evalSet, evalEvery: 1, earlyStopping: { patience: 2 } }));
    const r = await still.train();
    expect(r.stopped).toBe('early_stopping');
    expect(r.step).toBe(3);
    const evals = r.events.filter((e) => e.type === 'eval');
    expect(evals).toHaveLength(3);
    expect(Object.keys(evals[0].type === 'eval' ? evals[0].metrics : {})).toEqual(['loss', 'perplexity']);
    // Training on the eval set itself: the loss improves at every eval, so it runs to the end.
    const learning = new Trainer(peft, { train: evalSet, eval: evalSet, maxSteps: 4, lr: 1e-2, scheduler: 'constant', earlyStopping: { patience: 1 } });
    const r2 = await learning.train();
    expect([r2.stopped, r2.step]).toEqual(['completed', 4]);
    const losses = r2.events.flatMap((e) => (e.type === 'eval' ? [e.metrics.loss] : []));
    losses.slice(1).forEach((l, i) => expect(l).toBeLessThan(losses[i]));
    expect(() => new Trainer(peft, opts({ earlyStopping: { patience: 1 } }))).toThrow(/earlyStopping needs `eval` batches/);
    peft.dispose();
    base.dispose();
  });

  it('step events: epoch, lr, gradient norm (clipped at maxGradNorm), throughput and ETA', async () => {
    const { base, peft } = await gpt2(new CpuBackend());
    const r = await new Trainer(peft, opts({ maxSteps: 3, maxGradNorm: 1e-3 })).train();
    const steps = r.events as StepEvent[];
    expect(steps.map((e) => e.epoch)).toEqual([0.5, 1, 1.5]);
    for (const e of steps) {
      expect(e.gradNorm).toBeGreaterThan(1e-3); // reported before clipping
      expect(e.tokensPerSecond).toBeGreaterThan(0);
      expect(e.etaSeconds).toBeGreaterThanOrEqual(0);
    }
    expect(steps[2].etaSeconds).toBe(0);
    peft.dispose();
    base.dispose();
  });
});

describe('eval metrics', () => {
  it('classificationMetrics: accuracy and macro F1 as sklearn computes them', () => {
    // class 0: tp 1, fp 1, fn 1 → F1 1/2; class 1: tp 1, fn 1 → 2/3; class 2: tp 2, fp 1 → 4/5.
    const m = classificationMetrics([0, 0, 1, 2, 2, 2, 1], [0, 1, 1, 2, 2, 0, -100]);
    expect(m.accuracy).toBeCloseTo(4 / 6, 15);
    expect(m.f1).toBeCloseTo((1 / 2 + 2 / 3 + 4 / 5) / 3, 15);
    // A class only predicted, never true, counts with F1 0 (sklearn's zero_division default).
    expect(classificationMetrics([3, 0], [0, 0])).toEqual({ accuracy: 0.5, f1: (0 + 2 / 3) / 2 });
  });

  it('SEQ_CLS on tiny BERT: loss over two 1-row batches == the 2-row loss; accuracy and f1 from argmax', async () => {
    const b = new CpuBackend();
    const base = await loadModel('test/fixtures/models/tiny-bert/model.onnx', { backend: b });
    const peft = getPeftModel(base, { task_type: 'SEQ_CLS', r: 4, lora_alpha: 8, target_modules: ['query', 'value'], init_lora_weights: false }, 'default', { seed: 2 });
    const ids = randomIds(2, 7, 300);
    const mask = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1];
    const rowOf = (r: number): Batch => ({
      input_ids: i64(ids.slice(r * 7, r * 7 + 7), [1, 7]), attention_mask: i64(mask.slice(r * 7, r * 7 + 7), [1, 7]),
      token_type_ids: i64(new Array(7).fill(0), [1, 7]), labels: i64([r], [1]),
    });
    const both: Batch = {
      input_ids: i64(ids, [2, 7]), attention_mask: i64(mask, [2, 7]), token_type_ids: i64(new Array(14).fill(0), [2, 7]), labels: i64([0, 1], [2]),
    };
    const t = new Trainer(peft, { train: [both], eval: [rowOf(0), rowOf(1)] });
    const m = await t.evaluate();
    const { labels: _, ...feeds } = both;
    const logits = await (await peft.run(feeds)).logits.toArray(); // (2, C)
    const C = logits.length / 2;
    const argmax = [0, 1].map((r) => { const row = logits.slice(r * C, r * C + C); return row.indexOf(Math.max(...row)); });
    expect(Object.keys(m)).toEqual(['loss', 'accuracy', 'f1']);
    expect(Math.abs(m.loss - (await peft.computeGradients(both)).loss) / m.loss).toBeLessThan(1e-6);
    expect(m).toMatchObject(classificationMetrics(argmax, [0, 1]));
    console.log(`[metrics] tiny-bert SEQ_CLS: ${JSON.stringify(m)}`);
    t.dispose();
    peft.dispose();
    base.dispose();
  });
});

describe.skipIf(!hasWebGpu)('Trainer (webgpu)', () => {
  it('3 steps equal the cpu run (losses, adapter); no device memory grows after the first update', async () => {
    const g = await gpu();
    const train = batches(2, 2, 400);
    const o: TrainerOptions = { train, maxSteps: 3, gradientAccumulationSteps: 2, lr: 1e-2, scheduler: 'constant', seed: 1 };
    const cpuRun = await gpt2(new CpuBackend());
    const want = stepLosses((await new Trainer(cpuRun.peft, o).train()).events);
    const gpuRun = await gpt2(g);
    const pool = (g as WebGpuBackend).ctx.pool;
    const live: number[] = [];
    const trainer = new Trainer(gpuRun.peft, { ...o, onEvent: async () => (await g.sync(), void live.push(pool.snapshot().liveBytes)) });
    const got = stepLosses((await trainer.train()).events);
    got.forEach((l, i) => expect(Math.abs(l - want[i]) / want[i], `step ${i + 1} loss ${l} vs cpu ${want[i]}`).toBeLessThan(1e-4));
    const [ga, wa] = [await hostAdapter(gpuRun.peft), await hostAdapter(cpuRun.peft)];
    let worst = 0;
    for (const k of Object.keys(wa)) worst = Math.max(worst, scaleError(ga[k], wa[k]));
    console.log(`[trainer] webgpu vs cpu: losses ${got.map((l) => l.toFixed(5)).join(' ')}; worst adapter error / scale ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    expect(live[2]).toBe(live[1]);
    trainer.dispose();
    gpuRun.peft.dispose();
    gpuRun.base.dispose();
  });
});
