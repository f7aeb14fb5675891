/**
 * Fused LoRA matmul overhead at GPT-2-small width (K = N = 768): loraMatmul time over the
 * plain frozen matmul it augments (Backend.matmul, x·W + bias, same device, same
 * process), for r = 8, 16, 64; an unfused peer built from Backend ops (x·W + bias,
 * x·Aᵀ, (h·Bᵀ)·s, add) for context; and the backward (dx, dA, dB) over the forward.
 * Target on a real GPU: fused / plain ≤ 1.15 at r = 8.
 * Run: npm run bench -- lora
 */
import { getDevice } from '../src/gpu/device.js';
import type { LoraOptions } from '../src/tensor/backend.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { scaleError } from '../test/helpers/ort.js';
import { deviceName, gflops, printTable, saveResults, type Row } from './lib.js';
import { randn } from '../test/helpers/numeric.js';

const D = 768;
const RANKS = [8, 16, 64];

type Step = () => Tensor[];

/**
 * Fastest ms per call of each step (each records GPU work and returns tensors to free).
 * Samples are taken round-robin over the steps, so a change in machine load shifts every
 * step alike; the fastest sample, not the median, because on a shared CPU (SwiftShader)
 * other processes only ever add time.
 */
async function timeSteps(g: WebGpuBackend, steps: Record<string, Step>, repeats: number): Promise<Record<string, number>> {
  const run = (step: Step, n: number) => {
    for (let i = 0; i < n; i++) for (const t of step()) t.dispose();
  };
  const inner: Record<string, number> = {};
  for (const [name, step] of Object.entries(steps)) {
    run(step, 1); // warm-up: compiles the pipelines
    await g.sync();
    const t0 = performance.now();
    run(step, 1);
    await g.sync();
    // Enough calls to fill ~50 ms per sample (1 on SwiftShader).
    inner[name] = Math.min(50, Math.max(1, Math.ceil(50 / (performance.now() - t0))));
  }
  const samples: Record<string, number[]> = {};
  for (let s = 0; s < repeats; s++) {
    for (const [name, step] of Object.entries(steps)) {
      const t0 = performance.now();
      run(step, inner[name]);
      await g.sync();
      (samples[name] ??= []).push((performance.now() - t0) / inner[name]);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)]));
}

async function main(): Promise<void> {
  const device = await deviceName();
  const g = await WebGpuBackend.create();
  const software = (await getDevice()).info.isSoftware;
  // SwiftShader runs WGSL on two CPU cores at ~1 GFLOP/s: 256 rows keep the run near a minute.
  // WEBPEFT_BENCH_FULL=1 takes the 2048 rows on SwiftShader too (several minutes).
  const M = software && process.env.WEBPEFT_BENCH_FULL !== '1' ? 256 : 2048;
  const repeats = software ? 6 : 10;
  const cpu = new CpuBackend();
  const x = randn([M, D], 1);
  const w = randn([D, D], 2, -0.05, 0.05);
  const bias = randn([D], 3);
  const dy = randn([M, D], 4);
  const [gx, gw, gbias, gdy] = [x, w, bias, dy].map((t) => g.upload(t));
  const flops = 2 * M * D * D;
  const rows: Row[] = [];
  for (const r of RANKS) {
    const a = randn([r, D], 10 + r, -0.05, 0.05);
    const b = randn([D, r], 20 + r, -0.05, 0.05); // B ≠ 0, as after some training
    const [ga, gb] = [g.upload(a), g.upload(b)];
    const opts: LoraOptions = { scaling: 16 / r, bias: gbias };
    const ms = await timeSteps(g, {
      plain: () => [g.matmul(gx, gw, { bias: gbias })],
      fwd: () => [g.loraMatmul(gx, gw, ga, gb, opts)],
      unfused: () => {
        const base = g.matmul(gx, gw, { bias: gbias });
        const h = g.matmul(gx, ga, { transB: true });
        const low = g.matmul(h, gb, { transB: true, alpha: opts.scaling });
        return [base, h, low, g.binary('add', base, low)];
      },
      bwd: () => {
        const { dx, dA, dB } = g.loraMatmulBackward(gx, gw, ga, gb, gdy, opts);
        return [dx, dA, dB];
      },
    }, repeats);
    // Correctness of what was timed: 16 rows against the cpu reference.
    const x16 = new Tensor('float32', x.hostData<Float32Array>().slice(0, 16 * D), [16, D]);
    const y16 = g.loraMatmul(g.upload(x16), gw, ga, gb, opts);
    const err = scaleError(await y16.data<Float32Array>(), cpu.loraMatmul(x16, w, a, b, { ...opts, bias }).hostData<Float32Array>());
    y16.dispose();
    rows.push({
      r,
      'x·W': `(${M},${D})·(${D},${D})`,
      'plain matmul ms': ms.plain,
      'lora fwd ms': ms.fwd,
      'fwd / plain': ms.fwd / ms.plain,
      'unfused fwd ms': ms.unfused,
      'lora bwd ms': ms.bwd,
      'bwd / fwd': ms.bwd / ms.fwd,
      'plain GFLOP/s': gflops(flops, ms.plain),
      'max |Δ| / max |y| vs cpu': err,
    });
    ga.dispose();
    gb.dispose();
  }
  printTable(`LoRA matmul on ${device}`, rows);
  saveResults('lora', device, rows, [
    `Peer: Backend.matmul (src/tensor/webgpu/matmul.ts, x·W + bias) on the same device and operands. ${M} rows${software && M < 2048 ? ' (2048 on a real GPU or with WEBPEFT_BENCH_FULL=1; fewer on SwiftShader to keep the run near a minute)' : ''}, K = N = ${D}, W stored (K, N).`,
    `Fastest of ${repeats} samples taken round-robin over plain / fwd / unfused / bwd (machine-load drift hits all alike); each sample records 1..50 calls back to back (enough for ~50 ms) and ends with one sync; operands already on the device.`,
    'lora fwd: lora_thin (h = s·x·Aᵀ, M×r) + lora_matmul (x·W + bias + h·Bᵀ as r extra depth steps). unfused: 3 Backend.matmul calls + an add.',
    'lora bwd: 2 thin GEMMs (s·h, s·dy·B), dx = dy·Wᵀ + (s·g)·A fused, dA and dB as thin reductions over M (depth split over workgroups + ordered split-sum); a frozen Linear backward alone (dx) is one matmul.',
    'SwiftShader runs WGSL on the CPU: its ratios show the extra work, not real-GPU behaviour (the target fwd / plain ≤ 1.15 at r = 8 is for real GPUs).',
  ]);
}

await main();
