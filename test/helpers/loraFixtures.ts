/**
 * The PyTorch-made LoRA fixtures (test/fixtures/lora, see test/peft/lora.test.ts) as
 * webpeft tensors, plus small synthetic models whose weights sit behind Transposes or
 * Gemm's transB, for merge and export tests.
 */
import { readFileSync } from 'node:fs';
import { Tensor } from '../../src/tensor/tensor.js';
import { DataType, encode, f32, node, tensor, valueInfo } from '../onnx/build.js';

export interface RefTensor {
  dtype: 'int64' | 'float32' | 'float64';
  dims: number[];
  data: number[];
}

export interface RefCase {
  name: string;
  config: Record<string, unknown>;
  adapter: Record<string, RefTensor>;
  logits: RefTensor;
}

export interface Ref {
  onnx: string;
  inputs: Record<string, RefTensor>;
  labels: RefTensor;
  cases: RefCase[];
}

export const loadRef = (name: string): Ref => JSON.parse(readFileSync(`test/fixtures/lora/${name}.json`, 'utf8'));

export const toTensor = (r: RefTensor) =>
  r.dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims) : new Tensor('float32', Float32Array.from(r.data), r.dims);

export const feedsOf = (ref: Ref) => Object.fromEntries(Object.entries(ref.inputs).map(([k, v]) => [k, toTensor(v)]));

export const adapterOf = (c: RefCase) => Object.fromEntries(Object.entries(c.adapter).map(([k, v]) => [k, toTensor(v)]));

/** Logits at positions with attention_mask 1 (padded query rows are float noise); all of them for classifiers. */
export function masked(ref: Ref, logits: ArrayLike<number>): number[] {
  const mask = ref.inputs.attention_mask;
  if (!mask || ref.labels.dims.length === 1) return Array.from(logits);
  const [B, T] = ref.inputs.input_ids.dims;
  const V = logits.length / (B * T);
  const out: number[] = [];
  for (let p = 0; p < B * T; p++) if (mask.data[p] === 1) for (let v = 0; v < V; v++) out.push(logits[p * V + v]);
  return out;
}

/** Deterministic values in [-scale, scale). */
export function pseudoRandom(n: number, seed: number, scale = 0.5): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  });
}

/**
 * x (2, 3, 4) through four linear layers of 4 → 4 features whose weights are stored every
 * way an exporter stores them:
 *   l0  MatMul(x, Transpose(W[out, in]))               stored [out, in], one Transpose
 *   l1  Gemm(x2d, W[out, in], transB = 1)              stored [out, in] (nn.Linear)
 *   l2  Gemm(x2d, W[in, out])                          stored [in, out]
 *   l3  Gemm(x2d, Transpose(W[in, out]), transB = 1)   stored [in, out], two flips
 */
export function layoutsModel(): Uint8Array {
  const F = 4;
  const w = (name: string, seed: number) => f32(name, [F, F], Array.from(pseudoRandom(F * F, seed)));
  const bias = (name: string, seed: number) => f32(name, [F], Array.from(pseudoRandom(F, seed, 0.1)));
  const shape2 = tensor('shape2', DataType.INT64, [2], { int64Data: [-1, F] });
  const shape3 = tensor('shape3', DataType.INT64, [3], { int64Data: [2, 3, F] });
  return encode({
    nodes: [
      node('Transpose', ['l0.weight'], ['l0.wt'], '/l0/Transpose', { perm: [1, 0] }),
      node('MatMul', ['x', 'l0.wt'], ['h0'], '/l0/MatMul'),
      node('Reshape', ['h0', 'shape2'], ['h0f'], '/r0'),
      node('Gemm', ['h0f', 'l1.weight', 'l1.bias'], ['h1'], '/l1/Gemm', { transB: 1 }),
      node('Tanh', ['h1'], ['a1'], '/act1'),
      node('Gemm', ['a1', 'l2.weight', 'l2.bias'], ['h2'], '/l2/Gemm'),
      node('Transpose', ['l3.weight'], ['l3.wt'], '/l3/Transpose', { perm: [1, 0] }),
      node('Gemm', ['h2', 'l3.wt'], ['h3'], '/l3/Gemm', { transB: 1 }),
      node('Reshape', ['h3', 'shape3'], ['logits'], '/r3'),
    ],
    initializers: [w('l0.weight', 1), w('l1.weight', 2), bias('l1.bias', 3), w('l2.weight', 4), bias('l2.bias', 5), w('l3.weight', 6), shape2, shape3],
    inputs: [valueInfo('x', DataType.FLOAT, [2, 3, F])],
    outputs: [valueInfo('logits', DataType.FLOAT, [2, 3, F])],
  });
}

export const layoutsFeeds = () => ({ x: new Tensor('float32', pseudoRandom(24, 99, 1), [2, 3, 4]) });
