/**
 * Reductions, softmax and cross-entropy: webgpu vs the cpu reference on the same inputs.
 * Also prints the largest |webgpu − cpu| per op, so a fast wrong kernel shows up here too.
 * Shapes: softmax over 2048 rows × 1024 keys (attention scores), cross-entropy over
 * (512, 32000) logits (a Llama-sized vocabulary, 512 tokens).
 */
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import type { Backend } from '../src/tensor/backend.js';
import { Tensor } from '../src/tensor/tensor.js';
import { deviceName, printTable, saveResults, timeMs, type Row } from './lib.js';

function rand(dims: number[], seed: number, lo = -4, hi = 4): Tensor {
  let s = seed >>> 0;
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    d[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return new Tensor('float32', d, dims);
}

function labels(n: number, v: number): Tensor {
  return new Tensor('int32', Int32Array.from({ length: n }, (_, i) => (i % 7 === 6 ? -100 : (i * 7919) % v)), [n]);
}

interface Case {
  name: string;
  shape: string;
  /** Bytes a kernel must move at least (reads + writes), for GB/s. */
  bytes: number;
  run: (b: Backend, inputs: Tensor[]) => Tensor;
  inputs: Tensor[];
}

async function maxAbsDiff(a: Tensor, b: Tensor): Promise<number> {
  const x = await a.toArray();
  const y = await b.toArray();
  return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
}

async function main(): Promise<void> {
  const cpu = new CpuBackend();
  const gpu = await WebGpuBackend.create();
  const sm = rand([2048, 1024], 1);
  const smY = cpu.softmax(sm);
  const smDy = rand([2048, 1024], 2, -1, 1);
  const logits = rand([512, 32000], 3);
  const lab = labels(512, 32000);
  const one = new Tensor('float32', [1], [1]);
  const f = 4;
  const cases: Case[] = [
    { name: 'softmax', shape: '2048×1024', bytes: 2048 * 1024 * f * 2, inputs: [sm], run: (b, [x]) => b.softmax(x) },
    { name: 'softmax causal', shape: '2048×1024', bytes: 2048 * 1024 * f * 2, inputs: [sm], run: (b, [x]) => b.softmax(x, { causal: true }) },
    { name: 'softmaxBackward', shape: '2048×1024', bytes: 2048 * 1024 * f * 3, inputs: [smY, smDy], run: (b, [y, dy]) => b.softmaxBackward(y, dy) },
    { name: 'crossEntropy', shape: '512×32000', bytes: 512 * 32000 * f, inputs: [logits, lab], run: (b, [x, l]) => b.crossEntropy(x, l) },
    { name: 'crossEntropyBackward', shape: '512×32000', bytes: 512 * 32000 * f * 2, inputs: [logits, lab, one], run: (b, [x, l, d]) => b.crossEntropyBackward(x, l, d) },
    { name: 'reduce sum rows', shape: '2048×1024, axis 1', bytes: 2048 * 1024 * f, inputs: [sm], run: (b, [x]) => b.reduce('sum', x, [1], false) },
    { name: 'reduce sum columns', shape: '2048×1024, axis 0', bytes: 2048 * 1024 * f, inputs: [sm], run: (b, [x]) => b.reduce('sum', x, [0], false) },
    { name: 'reduce max all', shape: '2048×1024, all', bytes: 2048 * 1024 * f, inputs: [sm], run: (b, [x]) => b.reduce('max', x, [], false) },
    { name: 'reduceBackward max', shape: '2048×1024, axis 1', bytes: 2048 * 1024 * f * 4, inputs: [sm, rand([2048], 4)], run: (b, [x, dy]) => b.reduceBackward('max', x, [1], false, dy) },
  ];

  const rows: Row[] = [];
  for (const c of cases) {
    const onGpu = c.inputs.map((t) => gpu.upload(t));
    const gpuMs = await timeMs(async () => {
      c.run(gpu, onGpu).dispose();
      await gpu.sync();
    }, 5, 2);
    const cpuMs = await timeMs(() => void c.run(cpu, c.inputs), 3, 1);
    const err = await maxAbsDiff(c.run(gpu, onGpu), c.run(cpu, c.inputs));
    rows.push({
      op: c.name,
      shape: c.shape,
      'webgpu ms': gpuMs,
      'cpu ms': cpuMs,
      'cpu / webgpu': cpuMs / gpuMs,
      'webgpu GB/s': c.bytes / (gpuMs * 1e6),
      'max |webgpu − cpu|': err.toExponential(1),
    });
    onGpu.forEach((t) => t.dispose());
  }
  const device = await deviceName();
  printTable(`reduce / softmax / cross-entropy on ${device}`, rows);
  saveResults('reduce', device, rows, [
    'webgpu ms: median of 5 runs, launch + sync, inputs already on the device; cpu ms: the float64 TypeScript reference, median of 3.',
    'GB/s counts the minimal traffic (each input read once, output written once); softmax and cross-entropy actually read their input twice.',
    'crossEntropy: every 7th label is −100 (ignored).',
  ]);
}

await main();
