/**
 * Quantized-weight dequantization and CumSum, webgpu vs the cpu reference:
 * MatMulNBits' 4-bit weight layout for one GPT-2-small projection (768 × 768, block 32,
 * packed zero points), the same weight as a blocked int4 DequantizeLinear, and CumSum of
 * (512, 512) along the last axis (`rows`: a workgroup per line) and the first (`lines`:
 * a thread per column).
 * Run: npm run bench -- quant
 */
import type { Backend } from '../src/tensor/backend.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

const N = 768;
const K = 768;
const BLOCK = 32;
const BLOCKS = K / BLOCK;
const S = 512;

function lcg(n: number, seed: number, f: (u: number) => number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: plenty for benchmark data
    return f(s / 4294967296);
  });
}

const bytes = (n: number, seed: number) => Uint8Array.from(lcg(n, seed, (u) => Math.floor(256 * u)));
const floats = (n: number, seed: number, lo: number, hi: number) => Float32Array.from(lcg(n, seed, (u) => lo + (hi - lo) * u));

interface Case {
  op: string;
  shape: string;
  /** Least bytes moved: packed input + scales read, float32 output written. */
  bytes: number;
  inputs(b: Backend): Tensor[];
  run(b: Backend, inputs: Tensor[]): Tensor;
}

const weight = (b: Backend) => [
  b.upload(new Tensor('uint8', bytes((N * K) / 2, 1), [N, BLOCKS, BLOCK / 2])),
  b.upload(new Tensor('float32', floats(N * BLOCKS, 2, 0.01, 0.1), [N, BLOCKS])),
  b.upload(new Tensor('uint8', bytes((N * BLOCKS) / 2, 3), [N, BLOCKS / 2])),
];

const CASES: Case[] = [
  {
    op: 'dequantizeBlockwise 4-bit', shape: `(${N},${K}) block ${BLOCK}`, bytes: (N * K) / 2 + N * BLOCKS * 4.5 + N * K * 4,
    inputs: weight,
    run: (b, [w, s, z]) => b.dequantizeBlockwise(w, s, z, N, K, 4, BLOCK),
  },
  {
    op: 'dequantize int4 blocked', shape: `(${N},${K}) block ${BLOCK}`, bytes: (N * K) / 2 + N * BLOCKS * 4.5 + N * K * 4,
    inputs: (b) => [
      b.upload(new Tensor('int4', bytes((N * K) / 2, 1), [N, K])),
      b.upload(new Tensor('float32', floats(N * BLOCKS, 2, 0.01, 0.1), [N, BLOCKS])),
      b.upload(new Tensor('int4', bytes((N * BLOCKS) / 2, 3), [N, BLOCKS])),
    ],
    run: (b, [x, s, z]) => b.dequantize(x, s, z, 1, BLOCK),
  },
  {
    op: 'cumsum axis -1 (rows)', shape: `(${S},${S})`, bytes: 8 * S * S,
    inputs: (b) => [b.upload(new Tensor('float32', floats(S * S, 4, -1, 1), [S, S]))],
    run: (b, [x]) => b.cumsum(x, -1, false, false),
  },
  {
    op: 'cumsum axis 0 (lines)', shape: `(${S},${S})`, bytes: 8 * S * S,
    inputs: (b) => [b.upload(new Tensor('float32', floats(S * S, 4, -1, 1), [S, S]))],
    run: (b, [x]) => b.cumsum(x, 0, false, false),
  },
];

/** Median ms per call; calls recorded back to back (enough to fill ~50 ms) and ended by one sync. */
async function timeCase(b: Backend, c: Case): Promise<number> {
  const inputs = c.inputs(b);
  const once = async (n: number) => {
    for (let i = 0; i < n; i++) c.run(b, inputs).dispose();
    await b.sync();
  };
  const t0 = performance.now();
  await once(1); // warm-up: compiles the pipeline
  const inner = Math.min(20, Math.max(1, Math.ceil(50 / (performance.now() - t0))));
  const ms = (await timeMs(() => once(inner), 5, 0)) / inner;
  inputs.forEach((t) => t.dispose());
  return ms;
}

async function main(): Promise<void> {
  const device = await deviceName();
  const backends: Backend[] = [await WebGpuBackend.create(), new CpuBackend()];
  const rows: Row[] = [];
  for (const c of CASES) {
    const [g, h] = [await timeCase(backends[0], c), await timeCase(backends[1], c)];
    rows.push({
      op: c.op, shape: c.shape, 'MB moved': c.bytes / 1e6,
      'webgpu ms': g, 'webgpu GB/s': c.bytes / (g * 1e6),
      'cpu ms': h, 'cpu GB/s': c.bytes / (h * 1e6),
      'webgpu / cpu speed': h / g,
    });
  }
  printTable(`quant + cumsum on ${device}`, rows);
  saveResults('quant', device, rows, [
    'Median of 5 samples; each sample records enough calls back to back (1..20) to fill ~50 ms, ended by one sync.',
    'MB moved is the least traffic: packed 4-bit weight + float32 scales + packed zero points read, float32 (N, K) written; cumsum reads and writes float32 once.',
    'cumsum along the last axis runs a workgroup per row (Hillis–Steele scan in workgroup memory); along axis 0 a thread per column scans sequentially (coalesced across threads).',
    'cpu is the float64 reference backend, not an optimized CPU kernel.',
    'SwiftShader runs WGSL on the CPU: its webgpu numbers say nothing about a real GPU.',
  ]);
}

await main();
