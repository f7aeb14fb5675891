/**
 * Forward parity with onnxruntime-web (wasm, same process) on the PyTorch-made fixtures
 * (test/fixtures/models, from scripts/fixtures/make_fixtures.py): the cpu and webgpu
 * backends must match within 1e-4 of each output's scale.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/graph/executor.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { GpuJsBackend } from '../../src/tensor/gpujs/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectNoLeak } from '../helpers/leaks.js';
import { runOrt, scaleError } from '../helpers/ort.js';

const DIR = 'test/fixtures/models';

interface RefTensor {
  dtype: 'int64' | 'float32';
  dims: number[];
  data: number[];
}

function toTensor(r: RefTensor): Tensor {
  return r.dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims) : new Tensor('float32', Float32Array.from(r.data), r.dims);
}

const CASES = [
  ['tiny-gpt2', 'full', 'model.onnx'],
  ['tiny-gpt2', 'past', 'model_with_past.onnx'],
  ['tiny-llama', 'full', 'model.onnx'],
  ['tiny-llama', 'past', 'model_with_past.onnx'],
  ['tiny-bert', 'full', 'model.onnx'],
] as const;

const reference = (model: string) => JSON.parse(readFileSync(`${DIR}/${model}/reference.json`, 'utf8'));

function feedsOf(ref: { [variant: string]: { inputs: Record<string, RefTensor> } }, variant: 'full' | 'past'): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(ref[variant].inputs).map(([k, v]) => [k, toTensor(v)]));
}

async function parity(backend: Backend, model: string, variant: 'full' | 'past', file: string): Promise<void> {
  const ref = reference(model);
  const feeds = feedsOf(ref, variant);
  const path = `${DIR}/${model}/${file}`;
  const ir = await readOnnxModel(path);
  const exec = new Executor(ir, backend);
  const ours = await exec.run(feeds);
  const oracle = await runOrt(path, feeds);
  for (const [name, want] of Object.entries(oracle)) {
    const got = ours[name];
    expect(got.dims, `${model} ${variant} ${name} dims`).toEqual(want.dims);
    const err = scaleError(await got.toArray(), want.data);
    console.log(`[parity] ${backend.name} ${model} ${variant} ${name}: max error / scale = ${err.toExponential(2)}`);
    expect(err, `${model} ${variant} ${name}: max error / scale`).toBeLessThan(1e-4);
  }
  // PyTorch agrees too (the fixture's own outputs), a second authority for the logits.
  const torchLogits = (ref[variant].outputs as Record<string, RefTensor>).logits.data;
  expect(scaleError(await ours.logits.toArray(), torchLogits)).toBeLessThan(1e-4);
  // On webgpu, a second run frees every intermediate (test/helpers/leaks.ts).
  await expectNoLeak(`${model} ${variant}`, exec, feeds, backend);
}

describe('executor vs onnxruntime-web on PyTorch fixtures (cpu backend)', () => {
  for (const [model, variant, file] of CASES) {
    it(`${model} ${variant}`, () => parity(new CpuBackend(), model, variant, file));
  }
});

// gpu.js kernels for matmul and elementwise ops (webasm in Node), the rest through its cpu fallback.
describe('executor vs onnxruntime-web on PyTorch fixtures (gpujs backend)', () => {
  for (const [model, variant, file] of CASES) {
    it(`${model} ${variant}`, () => parity(new GpuJsBackend(), model, variant, file));
  }
});

describe.skipIf(!hasWebGpu)('executor vs onnxruntime-web on PyTorch fixtures (webgpu backend)', () => {
  for (const [model, variant, file] of CASES) {
    it(`${model} ${variant}`, async () => parity(await gpu(), model, variant, file));
  }
  it('a failed run frees what it computed', async () => {
    const backend = await gpu();
    const feeds = feedsOf(reference('tiny-gpt2'), 'full');
    const exec = new Executor(await readOnnxModel(`${DIR}/tiny-gpt2/model.onnx`), backend);
    for (const t of Object.values(await exec.run(feeds))) t.dispose(); // builds the plan
    const live = () => backend.ctx.pool.snapshot().liveBytes;
    const before = live();
    // Every node runs, then the missing name fails the run: logits must not stay behind.
    await expect(exec.run(feeds, { fetch: ['no/such/value'] })).rejects.toThrow(/'no\/such\/value' was not computed/);
    expect(live()).toBe(before);
    exec.dispose();
  });
});
