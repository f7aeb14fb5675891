/**
 * Merging (PEFT's merge_adapter / unmerge_adapter / merge_and_unload) and
 * add_weighted_adapter, on the PyTorch fixtures (GPT-2's Conv1D stored [in, out], Llama
 * and BERT exported pre-transposed, BERT's Gemm pooler with transB) and on a synthetic
 * model with every weight layout: merged logits equal the PeftModel's, unmerging restores
 * the frozen weights and the logits bit for bit, and the weighted adapters follow PEFT's maths.
 */
import { describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor, type Backend } from '../../src/index.js';
import type { PeftModel } from '../../src/peft/model.js';
import { mergedWeights } from '../../src/peft/merge.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { GpuJsBackend } from '../../src/tensor/gpujs/index.js';
import { DataType, encode, f32, node, tensor, valueInfo } from '../onnx/build.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { adapterOf, feedsOf, layoutsFeeds, layoutsModel, loadRef, masked, pseudoRandom } from '../helpers/loraFixtures.js';
import { scaleError } from '../helpers/ort.js';

const logitsOf = async (m: { run: PeftModel['run'] }, feeds: Record<string, Tensor>) => (await m.run(feeds)).logits.toArray();

/** Random A and B (B ≠ 0) for every module of an adapter. */
function randomTensors(peft: PeftModel, name: string, seed: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  let k = seed;
  for (const [key, t] of Object.entries(peft.adapterTensors(name))) {
    if (key.includes('.lora_')) out[key] = new Tensor('float32', pseudoRandom(t.size, k++, 0.3), t.dims);
    t.dispose();
  }
  return out;
}

/** Fixture cases, plus BERT's pooler (a Gemm with transB = 1, stored [out, in]) with random tensors. */
const CASES: { model: string; config?: Record<string, unknown> }[] = [
  { model: 'tiny-gpt2' },
  { model: 'tiny-llama' },
  { model: 'tiny-bert' },
  { model: 'tiny-bert', config: { task_type: 'SEQ_CLS', r: 3, lora_alpha: 6, target_modules: ['dense'], modules_to_save: ['classifier'] } },
];

async function setup(b: Backend, c: (typeof CASES)[number]) {
  const ref = loadRef(c.model);
  const base = await loadModel(ref.onnx, { backend: b });
  const peft = getPeftModel(base, c.config ?? ref.cases[0].config);
  peft.setAdapterTensors(c.config ? randomTensors(peft, 'default', 11) : adapterOf(ref.cases[0]));
  return { ref, base, peft, feeds: feedsOf(ref) };
}

function suite(backend: () => Promise<Backend>) {
  for (const c of CASES) {
    const label = `${c.model}${c.config ? ' (Gemm pooler)' : ''}`;

    it(`${label}: mergeAndUnload gives the PeftModel's logits; the base is untouched`, async () => {
      const b = await backend();
      const { ref, base, peft, feeds } = await setup(b, c);
      const plain = await logitsOf(base, feeds);
      const want = await logitsOf(peft, feeds);
      const merged = await peft.mergeAndUnload();
      const got = await logitsOf(merged, feeds);
      const err = scaleError(masked(ref, got), masked(ref, want));
      console.log(`[merge] ${b.name} ${label}: merged vs PeftModel logits ${err.toExponential(2)} (adapter moves them ${scaleError(masked(ref, plain), masked(ref, want)).toExponential(2)})`);
      expect(err).toBeLessThan(1e-5);
      expect(scaleError(masked(ref, plain), masked(ref, want))).toBeGreaterThan(1e-4); // the adapter matters
      expect(await logitsOf(base, feeds)).toEqual(plain);
      expect(await logitsOf(peft, feeds)).toEqual(want);
      merged.dispose();
      peft.dispose();
      base.dispose();
    });

    it(`${label}: mergeAdapter then unmergeAdapter restores weights and logits exactly`, async () => {
      const b = await backend();
      const { ref, base, peft, feeds } = await setup(b, c);
      const weights = [...peft.adapter().modules.values()].map((m) => m.target.weight);
      const frozen = await Promise.all(weights.map(async (w) => base.weight(w)!.toArray()));
      const before = await logitsOf(peft, feeds);
      await peft.mergeAdapter();
      expect(peft.mergedAdapters()).toEqual(['default']);
      await expect(peft.mergeAdapter()).rejects.toThrow(/merged already/);
      const during = await logitsOf(peft, feeds);
      const err = scaleError(masked(ref, during), masked(ref, before));
      console.log(`[merge] ${b.name} ${label}: merged-state vs unmerged logits ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
      peft.unmergeAdapter();
      expect(peft.mergedAdapters()).toEqual([]);
      expect(await logitsOf(peft, feeds)).toEqual(before);
      const after = await Promise.all(weights.map(async (w) => base.weight(w)!.toArray()));
      expect(after).toEqual(frozen);
      peft.unmergeAdapter(); // unmerged already: nothing to do, as in PEFT
      peft.dispose();
      base.dispose();
    });
  }

  it('every stored layout: W + s·B·A in the stored layout, merged logits equal the PeftModel', async () => {
    const b = await backend();
    const base = await loadModel(layoutsModel(), { backend: b });
    const layout = Object.fromEntries(base.targets().map((t) => [t.path, t.fanInFanOut]));
    expect(layout).toEqual({ l0: false, l1: false, l2: true, l3: true });
    const peft = getPeftModel(base, { r: 2, lora_alpha: 3, target_modules: ['l0', 'l1', 'l2', 'l3'] });
    peft.setAdapterTensors(randomTensors(peft, 'default', 5));
    const feeds = layoutsFeeds();
    const modules = [...peft.adapter().modules.values()];
    const merged = await mergedWeights(base, modules);
    for (const m of modules) {
      const [A, B, W] = [await m.a.toArray(), await m.b.toArray(), await base.ir.initializers.get(m.target.weight)!.toArray()];
      const [r, F] = [2, 4];
      const want = W.map((w, idx) => {
        const [i, j] = [Math.floor(idx / F), idx % F];
        const [o, inp] = m.target.fanInFanOut ? [j, i] : [i, j]; // stored [in, out] or [out, in]
        let d = 0;
        for (let k = 0; k < r; k++) d += B[o * r + k] * A[k * F + inp];
        return w + m.scaling * d;
      });
      expect(scaleError(await merged.get(m.target.weight)!.toArray(), want), m.target.path).toBeLessThan(1e-6);
    }
    const want = await logitsOf(peft, feeds);
    const err = scaleError(await logitsOf(await peft.mergeAndUnload(), feeds), want);
    console.log(`[merge] ${b.name} layouts: merged vs PeftModel ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    await peft.mergeAdapter();
    expect(scaleError(await logitsOf(peft, feeds), want)).toBeLessThan(1e-5);
    peft.unmergeAdapter();
    expect(await logitsOf(peft, feeds)).toEqual(want);
  });
}

describe('merge (cpu)', () => suite(async () => new CpuBackend()));
describe('merge (gpujs)', () => suite(async () => new GpuJsBackend()));
describe.skipIf(!hasWebGpu)('merge (webgpu)', () => suite(gpu));

describe('merge refusals', () => {
  it('quantized weights (DequantizeLinear) are refused with the module named', async () => {
    const bytes = encode({
      nodes: [node('DequantizeLinear', ['l0.weight_quantized', 's0'], ['w0'], 'dq0'), node('MatMul', ['x', 'w0'], ['y'], '/l0/MatMul')],
      initializers: [tensor('l0.weight_quantized', DataType.INT8, [4, 3], { rawData: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) }), f32('s0', [], [0.1])],
      inputs: [valueInfo('x', DataType.FLOAT, [2, 4])],
      outputs: [valueInfo('y', DataType.FLOAT, [2, 3])],
    });
    const base = await loadModel(bytes, { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 2, target_modules: ['l0'] });
    await expect(peft.mergeAndUnload()).rejects.toThrow(/cannot merge into 'l0'.*quantized \(DequantizeLinear, 8-bit\).*lossy/);
    await expect(peft.mergeAdapter()).rejects.toThrow(/quantized/);
    expect(peft.mergedAdapters()).toEqual([]);
  });

  it('a weight another node also reads (tied embedding) is refused', async () => {
    const bytes = encode({
      nodes: [
        node('Gather', ['wte.weight', 'ids'], ['emb'], '/wte/Gather'),
        node('Transpose', ['wte.weight'], ['wt'], '/lm_head/Transpose', { perm: [1, 0] }),
        node('MatMul', ['emb', 'wt'], ['logits'], '/lm_head/MatMul'),
      ],
      initializers: [f32('wte.weight', [5, 4], Array.from(pseudoRandom(20, 3)))],
      inputs: [valueInfo('ids', DataType.INT64, [2])],
      outputs: [valueInfo('logits', DataType.FLOAT, [2, 5])],
    });
    const base = await loadModel(bytes, { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 2, target_modules: ['lm_head'] });
    await expect(peft.mergeAndUnload()).rejects.toThrow(/'wte.weight' is also read by node '\/wte\/Gather' \(Gather\).*tied/);
  });
});

describe('addWeightedAdapter (cpu)', () => {
  async function twoAdapters(r2: number) {
    const ref = loadRef('tiny-gpt2');
    const base = await loadModel(ref.onnx, { backend: 'cpu' });
    const peft = getPeftModel(base, ref.cases[0].config);
    peft.setAdapterTensors(adapterOf(ref.cases[0]));
    peft.addAdapter('other', { ...ref.cases[0].config, r: r2, lora_alpha: 3, target_modules: ['c_attn', 'c_fc'] });
    peft.setAdapterTensors(randomTensors(peft, 'other', 21), 'other');
    return { ref, base, peft, feeds: feedsOf(ref) };
  }

  /** s·B·A (out, in) in float64. */
  async function deltaOf(m: { a: Tensor; b: Tensor; scaling: number }): Promise<Float64Array> {
    const [r, inF] = m.a.dims;
    const out = m.b.dims[0];
    const [A, B] = [await m.a.toArray(), await m.b.toArray()];
    const d = new Float64Array(out * inF);
    for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) for (let k = 0; k < r; k++) d[o * inF + i] += m.scaling * B[o * r + k] * A[k * inF + i];
    return d;
  }

  it("'cat': the combined delta is the weighted sum of the adapters' deltas (ranks may differ)", async () => {
    const { peft } = await twoAdapters(2);
    const w = [0.7, -0.4];
    const added = await peft.addWeightedAdapter(['default', 'other'], w, 'mix', 'cat');
    expect(added.config.r).toBe(6);
    expect(added.config.loraAlpha).toBe(6);
    expect([...added.modules.keys()]).toEqual([...peft.adapter('default').modules.keys()]); // union of target_modules
    let worst = 0;
    for (const [path, m] of added.modules) {
      expect(m.scaling).toBe(1);
      const want = new Float64Array(m.b.dims[0] * m.a.dims[1]);
      for (const [i, name] of ['default', 'other'].entries()) {
        const src = peft.adapter(name).modules.get(path);
        if (src) (await deltaOf(src)).forEach((v, j) => (want[j] += w[i] * v));
      }
      const err = scaleError(await deltaOf(m), want);
      worst = Math.max(worst, err);
      expect(err, path).toBeLessThan(1e-6);
    }
    console.log(`[weighted] cat: worst module delta error / scale ${worst.toExponential(2)}`);
  });

  it("'cat' with weights 1, 1 runs like both adapters merged", async () => {
    const { peft, feeds } = await twoAdapters(2);
    await peft.addWeightedAdapter(['default', 'other'], [1, 1], 'sum', 'cat');
    const both = await peft.mergeAndUnload({ adapterNames: ['default', 'other'] });
    peft.setAdapter('sum');
    const err = scaleError(await logitsOf(peft, feeds), await logitsOf(both, feeds));
    console.log(`[weighted] cat(1, 1) adapter vs both merged: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });

  it("'linear': A = Σ √(wᵢsᵢ)·Aᵢ and B = Σ √(wᵢsᵢ)·Bᵢ, scaling 1 (PEFT's formula)", async () => {
    const { peft } = await twoAdapters(4);
    const w = [0.6, 0.3];
    const added = await peft.addWeightedAdapter(['default', 'other'], w, 'lin', 'linear');
    expect(added.config.r).toBe(4);
    for (const [path, m] of added.modules) {
      expect(m.scaling).toBe(1);
      const wantA = new Float64Array(m.a.size);
      const wantB = new Float64Array(m.b.size);
      for (const [i, name] of ['default', 'other'].entries()) {
        const src = peft.adapter(name).modules.get(path);
        if (!src) continue;
        const c = Math.sqrt(w[i] * src.scaling);
        (await src.a.toArray()).forEach((v, j) => (wantA[j] += c * v));
        (await src.b.toArray()).forEach((v, j) => (wantB[j] += c * v));
      }
      expect(scaleError(await m.a.toArray(), wantA), `${path} A`).toBeLessThan(1e-6);
      expect(scaleError(await m.b.toArray(), wantB), `${path} B`).toBeLessThan(1e-6);
    }
  });

  it("'linear' of one adapter with weight 1 runs like that adapter", async () => {
    const { peft, feeds } = await twoAdapters(4);
    const want = await logitsOf(peft, feeds);
    await peft.addWeightedAdapter(['default'], [1], 'same', 'linear');
    peft.setAdapter('same');
    expect(scaleError(await logitsOf(peft, feeds), want)).toBeLessThan(1e-5);
  });

  it('refusals: linear of unequal ranks, negative linear weights, svd; nothing is added', async () => {
    const { peft } = await twoAdapters(2);
    await expect(peft.addWeightedAdapter(['default', 'other'], [1, 1], 'x', 'linear')).rejects.toThrow(/one rank, got r = 4, 2/);
    await expect(peft.addWeightedAdapter(['default', 'other'], [1, 1], 'x', 'svd')).rejects.toThrow(/'svd' is not implemented/);
    await expect(peft.addWeightedAdapter(['default'], [-1], 'x', 'linear')).rejects.toThrow(/√\(weight·scaling\)/);
    expect(peft.listAdapters()).toEqual(['default', 'other']);
  });
});
