/**
 * Layout ops at GPT-2-small sizes, webgpu vs the cpu reference, in GB/s of least traffic:
 * the attention head split (B, T, H, D) → (B, H, T, D) at 1×512×12×64, the embedding
 * lookup of 512 tokens from the 50257×768 wte table (host input_ids, as in training),
 * and a 2-D (768, 3072) transpose — the shape of an MLP weight — through the tiled
 * kernel and through the plain strided copy, to show what the tiles buy.
 * Run: npm run bench -- layout
 */
import type { Backend } from '../src/tensor/backend.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { transposePlan } from '../src/tensor/cpu/layoutPlan.js';
import { Tensor } from '../src/tensor/tensor.js';
import { copyStrided } from '../src/tensor/webgpu/copyStrided.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { allocGpu, gpuStorage } from '../src/tensor/webgpu/storage.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

const [B, T, H, D] = [1, 512, 12, 64];
const [VOCAB, C, TOKENS] = [50257, 768, 512];
const [M, N] = [768, 3072];

function rand(dims: number[], seed: number): Tensor {
  let s = seed >>> 0;
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: plenty for benchmark data
    data[i] = s / 4294967296 - 0.5;
  }
  return new Tensor('float32', data, dims);
}

const tokenIds = new Tensor('int32', Int32Array.from({ length: TOKENS }, (_, i) => (i * 7919) % VOCAB), [TOKENS]);

interface Case {
  op: string;
  shape: string;
  /** Bytes a kernel has to move at least: read once, write once. */
  bytes: number;
  inputs(b: Backend): Tensor[];
  /** One call on backend b; returns what to dispose. */
  run(b: Backend, inputs: Tensor[]): Tensor[];
  /** Time the cpu reference too (once per op, not per kernel variant). */
  cpuToo?: boolean;
}

const CASES: Case[] = [
  {
    op: 'transpose (B,T,H,D)→(B,H,T,D)', shape: `${B}x${T}x${H}x${D}`, bytes: 8 * B * T * H * D,
    inputs: (b) => [b.upload(rand([B, T, H, D], 1))], cpuToo: true,
    run: (b, [x]) => [b.transpose(x, [0, 2, 1, 3])],
  },
  {
    op: 'embedding gather (host ids)', shape: `${TOKENS} of ${VOCAB}x${C}`, bytes: 8 * TOKENS * C,
    inputs: (b) => [b.upload(rand([VOCAB, C], 2))], cpuToo: true,
    run: (b, [table]) => [b.gather(table, tokenIds, 0)],
  },
  ...(['tiled', 'plain'] as const).map((kernel): Case => ({
    op: `transpose 2-D, ${kernel === 'tiled' ? 'tiled kernel' : 'plain strided copy'}`, shape: `(${M},${N})`, bytes: 8 * M * N,
    inputs: (b) => [b.upload(rand([M, N], 3))],
    run: (b, [x]) => {
      if (!(b instanceof WebGpuBackend)) return [b.transpose(x, [1, 0])];
      const y = allocGpu(b.ctx, 'float32', [N, M]);
      copyStrided(b.ctx, transposePlan([M, N], [1, 0]), gpuStorage(x).buffer, gpuStorage(y).buffer, 'float32', 'bench', kernel);
      return [y];
    },
    cpuToo: kernel === 'plain',
  })),
];

/**
 * Median ms per call. Calls are recorded back to back and ended by one sync, so a fast GPU
 * is not timed on submit latency: `inner` calls per sample, enough to fill ~50 ms.
 */
async function timeCase(b: Backend, c: Case): Promise<number> {
  const inputs = c.inputs(b);
  const once = async (n: number) => {
    for (let i = 0; i < n; i++) c.run(b, inputs).forEach((t) => t.dispose());
    await b.sync();
  };
  const t0 = performance.now();
  await once(1); // warm-up: compiles the pipelines
  const inner = Math.min(20, Math.max(1, Math.ceil(50 / (performance.now() - t0))));
  const ms = (await timeMs(() => once(inner), 5, 0)) / inner;
  inputs.forEach((t) => t.dispose());
  return ms;
}

async function main(): Promise<void> {
  const device = await deviceName();
  const gpu = await WebGpuBackend.create();
  const cpu = new CpuBackend();
  const rows: Row[] = [];
  for (const c of CASES) {
    const g = await timeCase(gpu, c);
    const h = c.cpuToo ? await timeCase(cpu, c) : NaN;
    rows.push({
      op: c.op, shape: c.shape, 'MB moved': c.bytes / 1e6,
      'webgpu ms': g, 'webgpu GB/s': c.bytes / (g * 1e6),
      'cpu ms': c.cpuToo ? h : '—', 'cpu GB/s': c.cpuToo ? c.bytes / (h * 1e6) : '—',
      'webgpu / cpu speed': c.cpuToo ? h / g : '—',
    });
  }
  printTable(`layout on ${device}`, rows);
  saveResults('layout', device, rows, [
    'Median of 5 samples; each sample records enough calls back to back (1..20) to fill ~50 ms, ended by one sync.',
    'MB moved is the least traffic: every output element read once and written once (4 B each way); the gather reads only the 512 looked-up rows of the 154 MB table, which stays on the device.',
    'The gather takes host token ids, so each call also uploads 2 KB of indices after checking them on the host.',
    'The two 2-D transpose rows force kernels/transpose.wgsl (32×32 tiles in workgroup memory) and kernels/copy_strided.wgsl; the backend picks the tiled one on hardware GPUs and the plain one on software adapters (SwiftShader turns barriers into fiber switches).',
    'cpu is the plain TypeScript reference backend, not an optimized CPU kernel.',
    'SwiftShader runs WGSL on the CPU: its webgpu numbers say nothing about a real GPU.',
  ]);
}

await main();
