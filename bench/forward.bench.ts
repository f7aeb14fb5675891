/**
 * Forward latency of whole models: webpeft (webgpu and cpu backends) vs onnxruntime-web's
 * wasm backend (one thread), the same file and the same token batch, in this process.
 * Models: the PyTorch fixtures (test/fixtures/models) and, when it has been made
 * (`/usr/bin/python3 scripts/fixtures/make_fixtures.py --big`, not committed), a
 * GPT-2-small-shaped model with 124M random parameters.
 * Run: npm run bench -- forward
 */
import { existsSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { loadModel, type Model } from '../src/graph/model.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import type { Backend } from '../src/tensor/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { scaleError } from '../test/helpers/ort.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

ort.env.wasm.numThreads = 1;

interface Case {
  name: string;
  file: string;
  batch: number;
  tokens: number;
  vocab: number;
  repeats: number;
  /** The cpu reference backend is float64 and unoptimized: skip it where it would take minutes. */
  cpu: boolean;
}

const FIX = 'test/fixtures/models';
const BIG = 'test/fixtures/big/gpt2-small/model.onnx';
const CASES: Case[] = [
  { name: 'tiny-gpt2', file: `${FIX}/tiny-gpt2/model.onnx`, batch: 2, tokens: 7, vocab: 97, repeats: 10, cpu: true },
  { name: 'tiny-llama', file: `${FIX}/tiny-llama/model.onnx`, batch: 2, tokens: 7, vocab: 97, repeats: 10, cpu: true },
  { name: 'tiny-bert', file: `${FIX}/tiny-bert/model.onnx`, batch: 2, tokens: 7, vocab: 97, repeats: 10, cpu: true },
  { name: 'gpt2-small (124M)', file: BIG, batch: 1, tokens: 32, vocab: 50257, repeats: 2, cpu: false },
];

/** Deterministic token ids, plus the mask / position / type ids the model declares. */
function feedsFor(model: Model, c: Case): Record<string, Tensor> {
  const n = c.batch * c.tokens;
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7919 + 13) % c.vocab));
  const feeds: Record<string, Tensor> = {};
  for (const input of model.inputs) {
    const data =
      input.name === 'input_ids' ? ids
      : input.name === 'position_ids' ? BigInt64Array.from({ length: n }, (_, i) => BigInt(i % c.tokens))
      : input.name === 'attention_mask' ? new BigInt64Array(n).fill(1n)
      : input.name === 'token_type_ids' ? new BigInt64Array(n)
      : undefined;
    if (!data) throw new Error(`forward bench: ${c.file} has input '${input.name}', which this bench does not know how to fill`);
    feeds[input.name] = new Tensor('int64', data, [c.batch, c.tokens]);
  }
  return feeds;
}

async function timeWebpeft(c: Case, backend: Backend): Promise<{ ms: number; logits: Float32Array | number[] }> {
  const model = await loadModel(c.file, { backend });
  const feeds = feedsFor(model, c);
  let logits: Float32Array | number[] = [];
  const run = async () => {
    const out = await model.run(feeds);
    logits = await out[model.outputs[0].name].toArray();
    for (const t of Object.values(out)) t.dispose();
  };
  const ms = await timeMs(run, c.repeats, 1);
  model.dispose();
  return { ms, logits };
}

async function timeOrt(c: Case, feeds: Record<string, Tensor>): Promise<{ ms: number; logits: Float32Array<ArrayBufferLike> }> {
  const session = await ort.InferenceSession.create(readFileSync(c.file));
  const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor('int64', t.hostData() as BigInt64Array, [...t.dims])]));
  let logits: Float32Array<ArrayBufferLike> = new Float32Array();
  const ms = await timeMs(async () => {
    const out = await session.run(ortFeeds);
    logits = out[session.outputNames[0]].data as Float32Array;
  }, c.repeats, 1);
  await session.release();
  return { ms, logits };
}

async function main(): Promise<void> {
  const gpu = await WebGpuBackend.create().catch(() => undefined);
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const c of CASES) {
    if (!existsSync(c.file)) {
      skipped.push(`${c.name}: ${c.file} not found (make it with \`/usr/bin/python3 scripts/fixtures/make_fixtures.py --big\`)`);
      continue;
    }
    const probe = await loadModel(c.file, { backend: new CpuBackend() });
    const feeds = feedsFor(probe, c);
    probe.dispose();
    const peer = await timeOrt(c, feeds);
    const web = gpu ? await timeWebpeft(c, gpu) : undefined;
    const cpu = c.cpu ? await timeWebpeft(c, new CpuBackend()) : undefined;
    rows.push({
      model: c.name,
      'tokens (B×T)': `${c.batch}×${c.tokens}`,
      'ort-wasm ms': peer.ms,
      'webgpu ms': web ? web.ms : 'n/a',
      'cpu ms': cpu ? cpu.ms : 'skipped',
      'webgpu / ort-wasm time': web ? web.ms / peer.ms : 'n/a',
      'cpu / ort-wasm time': cpu ? cpu.ms / peer.ms : 'skipped',
      'max |Δ| / scale vs ort (webgpu)': web ? scaleError(web.logits, peer.logits).toExponential(2) : 'n/a',
    });
    console.log(`forward ${c.name} done`);
  }
  const device = await deviceName();
  printTable(`forward latency (${device})`, rows);
  const notes = [
    'Median of the repeats after one warm-up run; each run feeds the token batch, runs the whole graph and reads the logits back to the host (webpeft) or gets them from session.run (ORT).',
    'ort-wasm: onnxruntime-web 1.30 wasm backend, one thread, same file, same process. webpeft cpu is the float64 TypeScript reference backend, not an optimized CPU path (skipped for the 124M model).',
    'The 124M model has random weights and logits up to ~150: float32 rounding alone moves them by ~2e-4 of their scale (measured on its 32-token prefix: onnxruntime-web vs PyTorch 1.5e-4, webpeft webgpu vs PyTorch 2.2e-4); the fixtures agree to < 1e-6.',
    'A ratio above 1 means webpeft is slower. On SwiftShader (WebGPU emulated on the CPU) the webgpu column measures the emulator, not a GPU.',
    ...skipped,
  ];
  for (const n of notes) console.log(`- ${n}`);
  saveResults('forward', device, rows, notes);
}

await main();
