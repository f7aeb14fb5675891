/**
 * Elementwise bandwidth at a GPT-2-small activation size (2048 tokens × 768): add
 * (same shape and row broadcast, i.e. a bias add), gelu, and the bias-grad sumToShape.
 * GB/s counts the bytes each op must move (inputs read once + output written once);
 * elementwise ops are memory-bound, so this is the number to compare to the device's
 * bandwidth. webgpu vs the cpu reference in the same process.
 */
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import type { Backend } from '../src/tensor/backend.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';
import { randn } from '../test/helpers/numeric.js';

const M = 2048;
const N = 768;

interface Case {
  name: string;
  shapes: string;
  /** Bytes read + written by one call. */
  bytes: number;
  run: (be: Backend, inputs: Tensor[]) => Tensor;
  inputs: Tensor[];
}

const x = randn([M, N], 1);
const y = randn([M, N], 2);
const bias = randn([N], 3);
const F32 = 4;

const cases: Case[] = [
  { name: 'add', shapes: `(${M},${N}) + (${M},${N})`, bytes: 3 * M * N * F32, inputs: [x, y], run: (be, [a, b]) => be.binary('add', a, b) },
  { name: 'add row-broadcast', shapes: `(${M},${N}) + (${N})`, bytes: (2 * M * N + N) * F32, inputs: [x, bias], run: (be, [a, b]) => be.binary('add', a, b) },
  { name: 'gelu', shapes: `(${M},${N})`, bytes: 2 * M * N * F32, inputs: [x], run: (be, [a]) => be.unary('gelu', a) },
  { name: 'sumToShape (bias grad)', shapes: `(${M},${N}) → (${N})`, bytes: (M * N + N) * F32, inputs: [x], run: (be, [a]) => be.sumToShape(a, [N]) },
];

/** ms per call on webgpu: `reps` calls recorded back to back, one sync. */
async function timeGpu(g: WebGpuBackend, c: Case, reps: number): Promise<number> {
  const inputs = c.inputs.map((t) => g.upload(t));
  const ms = await timeMs(async () => {
    for (let i = 0; i < reps; i++) c.run(g, inputs).dispose();
    await g.sync();
  }, 5, 1);
  inputs.forEach((t) => t.dispose());
  return ms / reps;
}

async function main(): Promise<void> {
  const device = await deviceName();
  const cpu = new CpuBackend();
  let g: WebGpuBackend | null = null;
  try {
    g = await WebGpuBackend.create();
  } catch (err) {
    console.log(`webgpu unavailable: ${(err as Error).message}`);
  }
  const software = device.toLowerCase().includes('swiftshader');
  const reps = software ? 3 : 50;
  const rows: Row[] = [];
  for (const c of cases) {
    const cpuMs = await timeMs(() => void c.run(cpu, c.inputs), 3, 1);
    const gpuMs = g ? await timeGpu(g, c, reps) : NaN;
    rows.push({
      op: c.name,
      shapes: c.shapes,
      'MB moved': c.bytes / 1e6,
      'webgpu ms': gpuMs,
      'webgpu GB/s': c.bytes / (gpuMs * 1e6),
      'cpu ms': cpuMs,
      'cpu GB/s': c.bytes / (cpuMs * 1e6),
      'webgpu / cpu speed': cpuMs / gpuMs,
    });
  }
  printTable(`elementwise on ${device}`, rows);
  const notes = [
    'GB/s = bytes each op must read and write / time; webgpu time is wall time of back-to-back calls ended by one sync.',
    'cpu is the float64 reference backend, not an optimized CPU kernel.',
  ];
  if (software) notes.push('SwiftShader runs WGSL on the CPU: these webgpu numbers say nothing about a real GPU.');
  saveResults('elementwise', device, rows, notes);
}

await main();
