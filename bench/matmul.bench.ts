/**
 * matmul GFLOP/s at GPT-2-small shapes (C = 768, MLP 3072): token batches of 128 and 512
 * rows, a decode step (M = 1), and an attention score product (per-head Q·Kᵀ). webgpu vs
 * the cpu reference vs onnxruntime-web's wasm MatMul (one thread), all in this process.
 * The ORT model is one MatMul node built in memory with b as an initializer (a frozen
 * weight, which ORT may prepack, as in a real model); a is fed each run.
 * Run: npm run bench -- matmul
 */
import * as ort from 'onnxruntime-web';
import { getDevice } from '../src/gpu/device.js';
import type { MatmulOptions } from '../src/tensor/backend.js';
import { CpuBackend } from '../src/tensor/cpu/index.js';
import { Tensor } from '../src/tensor/tensor.js';
import { WebGpuBackend } from '../src/tensor/webgpu/index.js';
import { scaleError } from '../test/helpers/ort.js';
import { deviceName, gflops, printTable, saveResults, timeMs, type Row } from './lib.js';
import { randn } from '../test/helpers/numeric.js';

ort.env.wasm.numThreads = 1;

interface Case {
  name: string;
  a: number[];
  b: number[];
  opts?: MatmulOptions;
}

const C = 768;
const CASES: Case[] = [
  { name: 'decode x·W', a: [1, C], b: [C, C] },
  { name: 'decode x·W_fc', a: [1, C], b: [C, 4 * C] },
  { name: 'x·W', a: [128, C], b: [C, C] },
  { name: 'x·W_fc', a: [128, C], b: [C, 4 * C] },
  { name: 'x·W', a: [512, C], b: [C, C] },
  { name: 'x·W_fc', a: [512, C], b: [C, 4 * C] },
  { name: 'x·Wᵀ (torch layout)', a: [512, C], b: [C, C], opts: { transB: true } },
  { name: 'Q·Kᵀ 12 heads', a: [12, 128, 64], b: [12, 128, 64], opts: { transB: true } },
];

const flopsOf = (c: Case, rows?: number) => {
  const [m, k] = c.a.slice(-2);
  const n = c.opts?.transB ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
  const batch = c.a.slice(0, -2).reduce((x, y) => x * y, 1);
  return 2 * batch * (rows ?? m) * k * n;
};

// ── a one-node ONNX MatMul model, protobuf written by hand ──────────────────────
const varint = (v: number): number[] => {
  const out: number[] = [];
  for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
  out.push(v);
  return out;
};
const enc = new TextEncoder();
type Bytes = ArrayLike<number>;
const cat = (...parts: Bytes[]): number[] => parts.flatMap((p) => Array.from(p));
/** Field `f` as varint (wire type 0) or length-delimited (wire type 2). */
const int = (f: number, v: number) => [...varint(f << 3), ...varint(v)];
const msg = (f: number, body: Bytes) => cat(varint((f << 3) | 2), varint(body.length), body);
const str = (f: number, s: string) => msg(f, enc.encode(s));

/** ValueInfoProto: name, TypeProto{tensor_type{elem_type FLOAT, shape}}. */
const valueInfo = (name: string, dims: number[]) =>
  cat(str(1, name), msg(2, msg(1, cat(int(1, 1), msg(2, cat(...dims.map((d) => msg(1, int(1, d)))))))));

/** ModelProto (IR 8, opset 13): Y = MatMul(A, B), B an initializer holding `b`. */
function matmulModel(aDims: number[], b: Tensor, yDims: number[]): Uint8Array {
  const raw = new Uint8Array(b.hostData<Float32Array>().buffer.slice(0));
  const init = cat(...b.dims.map((d) => int(1, d)), int(2, 1), str(8, 'B'), msg(9, raw)); // TensorProto
  const node = cat(str(1, 'A'), str(1, 'B'), str(2, 'Y'), str(4, 'MatMul'));
  const graph = cat(msg(1, node), str(2, 'matmul'), msg(5, init), msg(11, valueInfo('A', aDims)), msg(12, valueInfo('Y', yDims)));
  return new Uint8Array(cat(int(1, 8), msg(7, graph), msg(8, cat(str(1, ''), int(2, 13)))));
}

/** b as stored for ORT's plain MatMul: transB cases are given the transposed weight. */
function plainB(c: Case, b: Tensor): Tensor {
  if (!c.opts?.transB) return b;
  const [n, k] = b.dims.slice(-2);
  const src = b.hostData<Float32Array>();
  const dst = new Float32Array(src.length);
  for (let z = 0; z < src.length / (n * k); z++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) dst[z * n * k + j * n + i] = src[z * n * k + i * k + j];
  }
  return new Tensor('float32', dst, [...b.dims.slice(0, -2), k, n]);
}

// ── timing ──────────────────────────────────────────────────────────────────────
interface Timing {
  ms: number;
  y: Float32Array;
}

async function timeWebGpu(g: WebGpuBackend, c: Case, a: Tensor, b: Tensor, repeats: number): Promise<Timing> {
  const [ga, gb] = [g.upload(a), g.upload(b)];
  const run = (n: number) => {
    for (let i = 0; i < n; i++) g.matmul(ga, gb, c.opts).dispose();
    return g.sync();
  };
  const y = g.matmul(ga, gb, c.opts);
  const result = await y.data<Float32Array>(); // also the warm-up: compiles the pipeline
  y.dispose();
  // Calls recorded back to back and ended by one sync, enough to fill ~50 ms per sample.
  const t0 = performance.now();
  await run(1);
  const once = performance.now() - t0;
  const inner = Math.min(50, Math.max(1, Math.ceil(50 / once)));
  // Past a second per call (SwiftShader's largest cases) that one call is the sample.
  const ms = once > 1000 ? once : await timeMs(() => run(inner), repeats, 0);
  ga.dispose();
  gb.dispose();
  return { ms: ms / inner, y: result };
}

async function timeOrt(c: Case, a: Tensor, b: Tensor, yDims: number[], repeats: number): Promise<Timing> {
  const session = await ort.InferenceSession.create(matmulModel(c.a, plainB(c, b), yDims));
  const feed = { A: new ort.Tensor('float32', a.hostData<Float32Array>(), c.a) };
  let y: Float32Array = new Float32Array(0);
  const ms = await timeMs(async () => {
    y = (await session.run(feed)).Y.data as Float32Array;
  }, repeats, 1);
  await session.release();
  return { ms, y };
}

/** The cpu reference on the first `rows` rows only (its cost is linear in M). */
function timeCpu(c: Case, a: Tensor, b: Tensor, rows: number): Promise<number> {
  const cpu = new CpuBackend();
  const [m, k] = c.a.slice(-2);
  const aRows = rows === m ? a : new Tensor('float32', a.hostData<Float32Array>().slice(0, rows * k), [rows, k]);
  return timeMs(() => void cpu.matmul(aRows, b, c.opts), 1, 0);
}

async function main(): Promise<void> {
  const device = await deviceName();
  const g = await WebGpuBackend.create();
  const software = (await getDevice()).info.isSoftware;
  // SwiftShader runs WGSL on the CPU (~0.5 GFLOP/s): 2 samples keep the run near a minute.
  const repeats = software ? 2 : 10;
  const rows: Row[] = [];
  for (const c of CASES) {
    const a = randn(c.a, 1);
    const b = randn(c.b, 2);
    const m = c.a[c.a.length - 2];
    const yDims = [...c.a.slice(0, -1), c.opts?.transB ? c.b[c.b.length - 2] : c.b[c.b.length - 1]];
    const gpu = await timeWebGpu(g, c, a, b, repeats);
    const wasm = await timeOrt(c, a, b, yDims, repeats);
    const cpuRows = c.a.length === 2 ? Math.min(m, 16) : m;
    const cpuMs = await timeCpu(c, a, b, cpuRows);
    rows.push({
      case: c.name,
      'a·b': `(${c.a.join(',')})·(${c.b.join(',')})${c.opts?.transB ? 'ᵀ' : ''}`,
      'webgpu ms': gpu.ms,
      'webgpu GFLOP/s': gflops(flopsOf(c), gpu.ms),
      'ort-wasm ms': wasm.ms,
      'ort-wasm GFLOP/s': gflops(flopsOf(c), wasm.ms),
      'cpu GFLOP/s': gflops(flopsOf(c, cpuRows), cpuMs),
      'webgpu/ort-wasm': wasm.ms / gpu.ms,
      'max |Δ| / max |y| vs ort': scaleError(gpu.y, wasm.y),
    });
  }
  printTable(`matmul on ${device}`, rows);
  saveResults('matmul', device, rows, [
    `webgpu: median of ${repeats} samples (the slower of 2 on SwiftShader; one call where a call takes over 1 s), each enough calls recorded back to back (1..50) to fill ~50 ms, ended by one sync; operands already on the device.`,
    `ort-wasm: onnxruntime-web ${ort.env.versions?.web ?? ''} wasm, 1 thread, one MatMul node with b as an initializer; median of ${repeats} session.run calls, a fed each time. transB cases give ORT the transposed weight.`,
    'cpu: the float64-accumulating reference backend, timed once on the first 16 rows of 2-D cases (its cost is linear in M).',
    'webgpu/ort-wasm is the speed ratio, ORT ms over webgpu ms: > 1 means webgpu is faster. max |Δ| / max |y| compares the webgpu output with ORT\'s.',
    'SwiftShader runs WGSL on the CPU: its webgpu numbers say nothing about a real GPU.',
  ]);
}

await main();
