/**
 * LoRA on the ONNX fixtures against PyTorch (test/fixtures/lora, made by
 * scripts/fixtures/make_lora_fixtures.py with PEFT's semantics, in float64): the same
 * base weights, the same A and B (B ≠ 0), the same batch must give the same logits, loss
 * and lora_A / lora_B gradients (and the BERT classifier's, trained as modules_to_save),
 * on the cpu and webgpu backends. Plus PEFT's invariants and frozen base weights.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor, type Backend } from '../../src/index.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { GpuJsBackend } from '../../src/tensor/gpujs/index.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { scaleError } from '../helpers/ort.js';

interface RefTensor {
  dtype: 'int64' | 'float32' | 'float64';
  dims: number[];
  data: number[];
}

interface RefCase {
  name: string;
  config: Record<string, unknown>;
  adapter: Record<string, RefTensor>;
  logits: RefTensor;
  loss: number;
  grads: Record<string, RefTensor>;
}

interface Ref {
  onnx: string;
  inputs: Record<string, RefTensor>;
  labels: RefTensor;
  base_logits: RefTensor;
  cases: RefCase[];
}

const load = (name: string): Ref => JSON.parse(readFileSync(`test/fixtures/lora/${name}.json`, 'utf8'));

const toTensor = (r: RefTensor) =>
  r.dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims) : new Tensor('float32', Float32Array.from(r.data), r.dims);

const feedsOf = (ref: Ref) => Object.fromEntries(Object.entries(ref.inputs).map(([k, v]) => [k, toTensor(v)]));

/** The fixture's config, its adapter tensors (LoRA, plus the BERT classifier as modules_to_save) and their gradients. */
const caseOf = (c: RefCase) => ({
  config: c.config,
  adapter: Object.fromEntries(Object.entries(c.adapter).map(([k, v]) => [k, toTensor(v)])),
  grads: Object.entries(c.grads),
});

/** Positions whose logits are comparable: rows × tokens with attention_mask 1 (padded query rows are float noise). */
function maskedLogits(ref: Ref, logits: ArrayLike<number>, want: number[]): [number[], number[]] {
  const mask = ref.inputs.attention_mask;
  const [B, T] = ref.inputs.input_ids.dims;
  const V = want.length / (B * T);
  if (!mask || ref.labels.dims.length === 1) return [Array.from(logits), want];
  const got: number[] = [];
  const exp: number[] = [];
  for (let p = 0; p < B * T; p++) {
    if (mask.data[p] !== 1) continue;
    for (let v = 0; v < V; v++) (got.push(logits[p * V + v]), exp.push(want[p * V + v]));
  }
  return [got, exp];
}

const CASES: [string, string][] = [
  ['tiny-gpt2', 'lora'],
  ['tiny-llama', 'lora'],
  ['tiny-llama', 'rslora'],
  ['tiny-bert', 'lora'],
];

function suite(backend: () => Promise<Backend>) {
  for (const [model, caseName] of CASES) {
    it(`${model} ${caseName}: logits, loss and adapter gradients equal PyTorch`, async () => {
      const ref = load(model);
      const c = ref.cases.find((x) => x.name === caseName)!;
      const b = await backend();
      const base = await loadModel(ref.onnx, { backend: b });
      const { config, adapter, grads: wantGrads } = caseOf(c);
      const peft = getPeftModel(base, config);
      peft.setAdapterTensors(adapter);
      const feeds = feedsOf(ref);
      const out = await peft.run(feeds);
      const [got, want] = maskedLogits(ref, await out.logits.toArray(), c.logits.data);
      const logitErr = scaleError(got, want);
      const { loss, grads } = await peft.computeGradients({ ...feeds, labels: toTensor(ref.labels) });
      console.log(`[lora] ${b.name} ${model} ${caseName}: logits ${logitErr.toExponential(2)}, loss ${loss} vs ${c.loss}`);
      expect(logitErr).toBeLessThan(1e-4);
      expect(Math.abs(loss - c.loss) / Math.abs(c.loss)).toBeLessThan(1e-4);
      expect(Object.keys(grads).sort()).toEqual(wantGrads.map(([k]) => k).sort());
      let worst = 0;
      for (const [name, w] of wantGrads) {
        expect(grads[name].dims, name).toEqual(w.dims);
        const err = scaleError(await grads[name].toArray(), w.data);
        worst = Math.max(worst, err);
        expect(err, `${name}: max error / scale`).toBeLessThan(1e-3);
      }
      console.log(`[lora] ${b.name} ${model} ${caseName}: worst gradient error / scale ${worst.toExponential(2)}`);
      for (const t of [...Object.values(out), ...Object.values(grads)]) t.dispose();
      peft.dispose();
      base.dispose();
    });
  }

  it('invariants: B = 0 equals the base model; a disabled adapter equals the base model', async () => {
    const ref = load('tiny-gpt2');
    const b = await backend();
    const base = await loadModel(ref.onnx, { backend: b });
    const feeds = feedsOf(ref);
    const plain = await (await base.run(feeds)).logits.toArray();
    const peft = getPeftModel(base, { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'] }, 'default', { seed: 7 });
    // PEFT's default init: A random, B zero — a no-op until trained.
    expect(scaleError(await (await peft.run(feeds)).logits.toArray(), plain)).toBe(0);
    peft.setAdapterTensors(pick(caseOf(ref.cases[0]).adapter, 'c_attn', 'c_fc'));
    const adapted = await (await peft.run(feeds)).logits.toArray();
    expect(scaleError(adapted, plain)).toBeGreaterThan(1e-3);
    peft.disableAdapters();
    expect(scaleError(await (await peft.run(feeds)).logits.toArray(), plain)).toBe(0);
    peft.enableAdapters();
    expect(scaleError(await (await peft.run(feeds)).logits.toArray(), adapted)).toBe(0);
    peft.dispose();
    base.dispose();
  });
}

function pick(tensors: Record<string, Tensor>, ...modules: string[]): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(tensors).filter(([k]) => modules.some((m) => k.includes(`.${m}.`))));
}

describe('LoRA vs PyTorch (cpu)', () => suite(async () => new CpuBackend()));
describe('LoRA vs PyTorch (gpujs)', () => suite(async () => new GpuJsBackend()));
describe.skipIf(!hasWebGpu)('LoRA vs PyTorch (webgpu)', () => suite(gpu));
