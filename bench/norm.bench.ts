/**
 * LayerNorm / RMSNorm forward + backward on (2048, 768) — a GPT-2-small batch of 2048
 * tokens — and one AdamW step on 1M parameters, webgpu vs the cpu reference.
 * Run: npm run bench -- norm
 */
import type { Backend } from '../src/tensor/backend.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

const ROWS = 2048;
const C = 768;
const PARAMS = 1 << 20;

function rand(dims: number[], seed: number, lo = -1, hi = 1): Tensor {
  let s = seed >>> 0;
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: plenty for benchmark data
    data[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return new Tensor('float32', data, dims);
}

interface Case {
  op: string;
  shape: string;
  /** Bytes a kernel has to move at least (reads + writes of the big tensors). */
  bytes: number;
  /** One run on backend b; returns what to dispose. */
  run(b: Backend, inputs: Tensor[]): Tensor[];
  inputs(b: Backend): Tensor[];
}

const N = ROWS * C;
const normInputs = (b: Backend) => [rand([ROWS, C], 1, -3, 3), rand([C], 2, 0.5, 1.5), rand([C], 3), rand([ROWS, C], 4)].map((t) => b.upload(t));

const CASES: Case[] = [
  {
    op: 'layerNorm fwd', shape: `(${ROWS},${C})`, bytes: 8 * N, inputs: normInputs,
    run: (b, [x, g, beta]) => Object.values(b.layerNorm(x, g, beta, 1e-5)).filter(Boolean) as Tensor[],
  },
  {
    op: 'layerNorm fwd+bwd', shape: `(${ROWS},${C})`, bytes: 20 * N, inputs: normInputs,
    run: (b, [x, g, beta, dy]) => {
      const f = b.layerNorm(x, g, beta, 1e-5);
      const r = b.layerNormBackward(x, g, f.mean!, f.invStd, dy);
      return [f.y, f.mean!, f.invStd, r.dx, r.dGamma, r.dBeta];
    },
  },
  {
    op: 'rmsNorm fwd', shape: `(${ROWS},${C})`, bytes: 8 * N, inputs: normInputs,
    run: (b, [x, g]) => Object.values(b.rmsNorm(x, g, 1e-6)).filter(Boolean) as Tensor[],
  },
  {
    op: 'rmsNorm fwd+bwd', shape: `(${ROWS},${C})`, bytes: 20 * N, inputs: normInputs,
    run: (b, [x, g, , dy]) => {
      const f = b.rmsNorm(x, g, 1e-6);
      const r = b.rmsNormBackward(x, g, f.invStd, dy);
      return [f.y, f.invStd, r.dx, r.dGamma];
    },
  },
  {
    op: 'adamw step', shape: `(${PARAMS})`, bytes: 28 * PARAMS,
    inputs: (b) => [b.upload(rand([PARAMS], 5)), b.upload(rand([PARAMS], 6)), b.zeros('float32', [PARAMS]), b.zeros('float32', [PARAMS])],
    run: (b, [p, g, m, v]) => {
      b.adamw(p, g, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 });
      return [];
    },
  },
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
    const h = await timeCase(cpu, c);
    rows.push({
      op: c.op, shapes: c.shape, 'MB moved': c.bytes / 1e6,
      'webgpu ms': g, 'webgpu GB/s': c.bytes / (g * 1e6),
      'cpu ms': h, 'cpu GB/s': c.bytes / (h * 1e6),
      'webgpu / cpu speed': h / g,
    });
  }
  printTable(`norm + adamw on ${device}`, rows);
  saveResults('norm', device, rows, [
    'Median of 5 samples; each sample records enough calls back to back (1..20) to fill ~50 ms, ended by one sync.',
    'MB moved is the least traffic: norm fwd reads x and writes y (8 B/elt); fwd+bwd adds the dy read, the dx write and the dGamma pass re-reading x and dy (20 B/elt in all); AdamW reads p, g, m, v and writes p, m, v (28 B/param).',
    'cpu is the float64-accumulating reference backend, not an optimized CPU kernel.',
    'SwiftShader runs WGSL on the CPU: its webgpu numbers say nothing about a real GPU.',
  ]);
}

await main();
