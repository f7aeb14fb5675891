/**
 * One training step (forward, loss, backward) with LoRA r = 8 and with full fine-tuning
 * on the same model and batch, on the webgpu backend: tokens/s, the step's time over a
 * plain forward's (same process, same batch), and peak device bytes above what the
 * model already held. Models: the tiny GPT-2 fixture and, when made
 * (`/usr/bin/python3 scripts/fixtures/make_fixtures.py --big`), GPT-2 small (124M).
 * Run: npm run bench -- train
 */
import { existsSync } from 'node:fs';
import { loadModel, type Model } from '../src/graph/model.js';
import { fullFineTune } from '../src/peft/fullFineTune.js';
import { getPeftModel } from '../src/peft/model.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

interface Case {
  name: string;
  file: string;
  batch: number;
  tokens: number;
  vocab: number;
  targets: string[];
  repeats: number;
}

const CASES: Case[] = [
  { name: 'tiny-gpt2', file: 'test/fixtures/models/tiny-gpt2/model.onnx', batch: 4, tokens: 32, vocab: 97, targets: ['c_attn', 'c_proj', 'c_fc'], repeats: 5 },
  { name: 'gpt2-small (124M)', file: 'test/fixtures/big/gpt2-small/model.onnx', batch: 1, tokens: 32, vocab: 50257, targets: ['c_attn', 'c_proj', 'c_fc'], repeats: 2 },
];

const batchOf = (c: Case) => ({
  input_ids: new Tensor('int64', BigInt64Array.from({ length: c.batch * c.tokens }, (_, i) => BigInt((i * 7919 + 13) % c.vocab)), [c.batch, c.tokens]),
});

interface Measure {
  ms: number;
  /** Peak pool bytes during the step above the bytes live before it. */
  peakAbove: number;
}

async function measure(b: WebGpuBackend, step: () => Promise<void>, repeats: number): Promise<Measure> {
  await step(); // warm-up: pipelines compiled, plans built
  const pool = b.ctx.pool;
  const before = pool.snapshot().liveBytes;
  pool.resetPeak();
  const ms = await timeMs(step, repeats, 0);
  return { ms, peakAbove: pool.snapshot().peakBytes - before };
}

async function forwardMs(b: WebGpuBackend, model: Model, c: Case): Promise<number> {
  const feeds = batchOf(c);
  return (await measure(b, async () => {
    const out = await model.run(feeds);
    for (const t of Object.values(out)) t.dispose();
  }, c.repeats)).ms;
}

const mb = (bytes: number) => bytes / 2 ** 20;

async function main(): Promise<void> {
  const b = await WebGpuBackend.create();
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const c of CASES) {
    if (!existsSync(c.file)) {
      skipped.push(`${c.name}: ${c.file} not found (make it with \`/usr/bin/python3 scripts/fixtures/make_fixtures.py --big\`)`);
      continue;
    }
    const model = await loadModel(c.file, { backend: b });
    const fwd = await forwardMs(b, model, c);
    const batch = batchOf(c);
    const step = (run: () => Promise<{ grads: Record<string, Tensor> }>) => async () => {
      for (const g of Object.values((await run()).grads)) g.dispose();
    };
    const peft = getPeftModel(model, { r: 8, lora_alpha: 16, target_modules: c.targets, init_lora_weights: false });
    const lora = await measure(b, step(() => peft.computeGradients(batch)), c.repeats);
    const loraParams = peft.trainableParameters().trainable;
    peft.dispose();
    const full = fullFineTune(model, { trainable: 'all' });
    const fullStep = await measure(b, step(() => full.computeGradients(batch)), c.repeats);
    const fullParams = full.trainableParameters().trainable;
    full.dispose();
    model.dispose();
    const tokens = c.batch * c.tokens;
    for (const [mode, m, params] of [['LoRA r=8', lora, loraParams], ['full', fullStep, fullParams]] as const) {
      rows.push({
        model: c.name,
        mode,
        'trainable params': params,
        'tokens (B×T)': `${c.batch}×${c.tokens}`,
        'forward ms': fwd,
        'step ms': m.ms,
        'step / forward': m.ms / fwd,
        'tokens/s': (1000 * tokens) / m.ms,
        'peak MiB above model': mb(m.peakAbove),
      });
    }
    console.log(`train ${c.name} done`);
  }
  const device = await deviceName();
  printTable(`training step (${device})`, rows);
  const notes = [
    'A step is computeGradients: forward with the tape, the loss (causal LM, labels = input_ids), the backward to every trainable tensor; no optimizer update (AdamW is one elementwise kernel per tensor).',
    'Median of the repeats after one warm-up step; forward is the plain model run on the same batch.',
    'Peak MiB: the buffer pool\'s peak during the timed steps minus what was live before them (weights, and for full fine-tuning the trainable copies, are already counted before).',
    'On SwiftShader (WebGPU emulated on the CPU) times measure the emulator, not a GPU; the step / forward ratio and the memory column still show the cost of the backward.',
    ...skipped,
  ];
  for (const n of notes) console.log(`- ${n}`);
  saveResults('train', device, rows, notes);
}

await main();
