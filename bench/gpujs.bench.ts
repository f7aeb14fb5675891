/**
 * The gpujs backend in Node (gpu.js 'webasm': WebAssembly + f32x4 SIMD, one thread,
 * synchronous) against the cpu backend and a plain float32 JS loop, in the same process:
 *   - matmul GFLOP/s at M = 128, K = 768, N = 768 (one GPT-2-small projection, 128 tokens);
 *   - loraMatmul (r = 8) forward vs that plain matmul (the LoRA overhead ratio), and
 *     with dropout p = 0.1 (the host-side mask: a lowbias32 hash per element of x);
 *   - two elementwise ops at 2048 × 768, where gpu.js's copy in and out of wasm memory
 *     is the whole cost (memory-bound), so the cpu backend is the peer to beat.
 * Times include gpu.js's argument copies and result reshaping: that is what a caller pays.
 */
import { cpus } from 'node:os';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { GpuJsBackend } from '../src/tensor/gpujs/index.js';
import type { Backend } from '../src/tensor/backend.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { gflops, printTable, saveResults, timeMs, type Row } from './lib.js';
import { randn } from '../test/helpers/numeric.js';

const [M, K, N, R] = [128, 768, 768, 8];
const FLOPS = 2 * M * K * N;

/** The classic i-k-j float32 loop: what hand-written JS gets without SIMD. */
function jsMatmul(a: Float32Array, b: Float32Array): Float32Array {
  const c = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let k = 0; k < K; k++) {
      const av = a[m * K + k];
      const bo = k * N;
      const co = m * N;
      for (let n = 0; n < N; n++) c[co + n] += av * b[bo + n];
    }
  }
  return c;
}

/** Median ms of `run`, or the error it throws (recorded in the notes, not fatal). */
async function timeOrWhy(run: () => unknown, repeats: number): Promise<number | string> {
  try {
    run();
  } catch (err) {
    return (err as Error).message;
  }
  return timeMs(() => void run(), repeats, 0);
}

async function main(): Promise<void> {
  const g = new GpuJsBackend();
  const cpu = new CpuBackend();
  const device = `${cpus()[0]?.model ?? 'cpu'} (${cpus().length} cores), gpu.js ${g.mode}, single thread`;
  const x = randn([M, K], 1);
  const w = randn([K, N], 2);
  const a = randn([R, K], 3);
  const b = randn([N, R], 4);
  const rows: Row[] = [];
  const notes: string[] = [];

  const matmulRow = (impl: string, t: number | string): Row =>
    typeof t === 'number'
      ? { op: `matmul (${M},${K})·(${K},${N})`, impl, ms: t, 'GFLOP/s': gflops(FLOPS, t) }
      : (notes.push(`${impl} matmul: ${t}`), { op: `matmul (${M},${K})·(${K},${N})`, impl, ms: 'n/a', 'GFLOP/s': 'n/a' });

  const tg = await timeOrWhy(() => g.matmul(x, w), 9);
  rows.push(matmulRow(`gpujs (${g.mode})`, tg));
  rows.push(matmulRow('cpu backend', await timeOrWhy(() => cpu.matmul(x, w), 3)));
  rows.push(matmulRow('plain JS f32 loop', await timeOrWhy(() => jsMatmul(x.hostData(), w.hostData()), 3)));

  const tl = await timeOrWhy(() => g.loraMatmul(x, w, a, b, { scaling: 2 }), 9);
  if (typeof tl === 'number' && typeof tg === 'number') {
    rows.push({ op: `loraMatmul r=${R}`, impl: `gpujs (${g.mode})`, ms: tl, 'GFLOP/s': gflops(FLOPS + 4 * M * R * (K + N), tl) });
    notes.push(`LoRA overhead (loraMatmul / matmul on gpujs): ${(tl / tg).toFixed(3)}×`);
  }
  const td = await timeOrWhy(() => g.loraMatmul(x, w, a, b, { scaling: 2, dropout: { p: 0.1, seed: 1 } }), 9);
  if (typeof td === 'number' && typeof tl === 'number') {
    rows.push({ op: `loraMatmul r=${R} dropout 0.1`, impl: `gpujs (${g.mode})`, ms: td, 'GFLOP/s': gflops(FLOPS + 4 * M * R * (K + N), td) });
    notes.push(`dropout cost (loraMatmul p = 0.1 / p = 0 on gpujs; mask hashed on the host): ${(td / tl).toFixed(3)}×`);
  } else if (typeof td === 'string') {
    notes.push(`gpujs loraMatmul dropout: ${td}`);
  }

  const [T, C] = [2048, 768];
  const act = randn([T, C], 5);
  const act2 = randn([T, C], 6);
  const elementwise: [string, (be: Backend) => Tensor][] = [
    [`gelu (${T},${C})`, (be) => be.unary('gelu', act)],
    [`add (${T},${C})`, (be) => be.binary('add', act, act2)],
  ];
  for (const [op, run] of elementwise) {
    for (const [impl, be] of [[`gpujs (${g.mode})`, g], ['cpu backend', cpu]] as const) {
      const t = await timeOrWhy(() => run(be), 5);
      rows.push({ op, impl, ms: typeof t === 'number' ? t : 'n/a', 'GFLOP/s': '—' });
      if (typeof t === 'string') notes.push(`${impl} ${op}: ${t}`);
    }
  }

  if (g.notes.length) notes.push(...g.notes.map((n) => `gpujs: ${n}`));
  notes.push('gpu.js webasm runs synchronous calls on one thread (its worker pool needs the async contract); other helpers may share the cores.');
  printTable(`gpujs backend vs cpu — ${device}`, rows);
  for (const n of notes) console.log(`- ${n}`);
  saveResults('gpujs', device, rows, notes);
  g.destroy();
}

await main();
