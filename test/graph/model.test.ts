/**
 * The public model facade (`loadModel` from the package root) on the PyTorch fixtures:
 * targets, bad feeds, the KV cache against the full pass, per-shape plans, fetching
 * intermediates (checked against onnxruntime-web with the value made a graph output),
 * and device memory returning to where it was.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadModel, Tensor, type Backend } from '../../src/index.js';
import { decodeModelProto, encodeModelProto } from '../../src/onnx/proto.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { runOrt, scaleError } from '../helpers/ort.js';

const DIR = 'test/fixtures/models';
const GPT2 = `${DIR}/tiny-gpt2/model.onnx`;

interface RefTensor {
  dtype: 'int64' | 'float32';
  dims: number[];
  data: number[];
}

const toTensor = (r: RefTensor) =>
  r.dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims) : new Tensor('float32', Float32Array.from(r.data), r.dims);

function feedsOf(model: string, variant: 'full' | 'past'): Record<string, Tensor> {
  const ref = JSON.parse(readFileSync(`${DIR}/${model}/reference.json`, 'utf8'));
  return Object.fromEntries(Object.entries(ref[variant].inputs as Record<string, RefTensor>).map(([k, v]) => [k, toTensor(v)]));
}

const ids = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

describe('loadModel facade', () => {
  it('picks the requested backend, lists inputs, outputs and LoRA targets', async () => {
    const model = await loadModel(GPT2, { backend: 'cpu' });
    expect(model.backend.name).toBe('cpu');
    expect(model.backendNote).toBe('cpu (requested)');
    expect(model.inputs.map((i) => [i.name, i.dtype])).toEqual([['input_ids', 'int64']]);
    expect(model.outputs.map((o) => o.name)).toEqual(['logits']);
    const paths = model.targets().map((t) => t.path);
    for (const p of ['transformer.h.0.attn.c_attn', 'transformer.h.1.mlp.c_proj']) expect(paths).toContain(p);
    model.dispose();
    expect(() => model.run({ input_ids: ids([[1, 2]]) })).toThrow(/disposed/);
  });

  it('accepts bytes and a backend instance', async () => {
    const backend = new CpuBackend();
    const model = await loadModel(readFileSync(GPT2), { backend, name: 'gpt2-bytes.onnx' });
    expect(model.backend).toBe(backend);
    expect(model.file).toBe('gpt2-bytes.onnx');
    const { logits } = await model.run({ input_ids: ids([[3, 4, 5]]) });
    expect(logits.dims).toEqual([1, 3, 97]);
  });
});

describe('bad feeds name the input and leave the model usable', () => {
  const cases = (backend: () => Promise<Backend>) => {
    it('unknown, missing, wrong dtype, wrong rank, then a good run', async () => {
      const model = await loadModel(GPT2, { backend: await backend() });
      const good = ids([[1, 2, 3]]);
      await expect(model.run({ input_ids: good, attention_mask: good })).rejects.toThrow(/unknown input 'attention_mask'.*input_ids/);
      await expect(model.run({})).rejects.toThrow(/missing input 'input_ids'/);
      const int32 = new Tensor('int32', Int32Array.from([1, 2, 3]), [1, 3]);
      await expect(model.run({ input_ids: int32 })).rejects.toThrow(/input 'input_ids': expected int64, got int32/);
      const flat = new Tensor('int64', BigInt64Array.from([1n, 2n, 3n]), [3]);
      await expect(model.run({ input_ids: flat })).rejects.toThrow(/input 'input_ids': expected dims/);
      // A token id past the vocabulary fails in the op that reads it, named by node.
      await expect(model.run({ input_ids: ids([[1, 97]]) })).rejects.toThrow(/Gather node '[^']+'.*97/s);
      const { logits } = await model.run({ input_ids: good });
      expect(logits.dims).toEqual([1, 3, 97]);
      model.dispose();
    });
  };
  describe('cpu', () => cases(async () => new CpuBackend()));
  describe.skipIf(!hasWebGpu)('webgpu', () => cases(gpu));
});

describe('one step with the KV cache equals the full pass', () => {
  for (const name of ['tiny-gpt2', 'tiny-llama']) {
    it(name, async () => {
      const full = await loadModel(`${DIR}/${name}/model.onnx`, { backend: 'cpu' });
      const step = await loadModel(`${DIR}/${name}/model_with_past.onnx`, { backend: 'cpu' });
      const whole = (await full.run(feedsOf(name, 'full'))).logits; // (B, T, V)
      const last = (await step.run(feedsOf(name, 'past'))).logits; // (B, S, V): the last S positions
      const [B, T, V] = whole.dims;
      const S = last.dims[1];
      const w = await whole.toArray();
      const tail: number[] = [];
      for (let b = 0; b < B; b++) for (let t = T - S; t < T; t++) for (let v = 0; v < V; v++) tail.push(w[(b * T + t) * V + v]);
      const err = scaleError(await last.toArray(), tail);
      console.log(`[cache] ${name}: cached step vs full pass, max error / scale = ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-5);
    });
  }
});

describe('plans per input shape', () => {
  it('a new sequence length builds a plan; the old one is reused and still right', async () => {
    const model = await loadModel(GPT2, { backend: 'cpu' });
    const exec = (model as unknown as { executor: { planCount: number } }).executor;
    const a = await (await model.run({ input_ids: ids([[5, 6, 7, 8]]) })).logits.toArray();
    const b = await (await model.run({ input_ids: ids([[5, 6]]) })).logits.toArray();
    const again = await (await model.run({ input_ids: ids([[5, 6, 7, 8]]) })).logits.toArray();
    expect(exec.planCount).toBe(2);
    expect(again).toEqual(a);
    // Causal: the first two positions do not see the later tokens.
    expect(scaleError(b, a.slice(0, b.length))).toBeLessThan(1e-6);
  });
});

describe('fetching intermediates', () => {
  const LN = '/transformer/h.0/ln_1/LayerNormalization_output_0';
  const SOFTMAX = '/transformer/h.1/attn/Softmax_output_0';

  /** The fixture with `names` added as graph outputs, so onnxruntime-web returns them too. */
  function withOutputs(names: string[]): Uint8Array {
    const proto = decodeModelProto(readFileSync(GPT2), GPT2);
    proto.graph!.output!.push(...names.map((name) => ({ name, docString: '' })));
    return encodeModelProto(proto);
  }

  const cases = (backend: () => Promise<Backend>) => {
    it('equal onnxruntime-web', async () => {
      const model = await loadModel(GPT2, { backend: await backend() });
      const feeds = feedsOf('tiny-gpt2', 'full');
      const ours = await model.run(feeds, { fetch: [LN, SOFTMAX] });
      const oracle = await runOrt(withOutputs([LN, SOFTMAX]), feeds);
      for (const name of [LN, SOFTMAX]) {
        expect(ours[name].dims).toEqual(oracle[name].dims);
        expect(scaleError(await ours[name].toArray(), oracle[name].data)).toBeLessThan(1e-5);
      }
      await expect(model.run(feeds, { fetch: ['no/such/value'] })).rejects.toThrow(/'no\/such\/value' was not computed/);
      model.dispose();
    });
  };
  describe('cpu', () => cases(async () => new CpuBackend()));
  describe.skipIf(!hasWebGpu)('webgpu', () => cases(gpu));
});

describe.skipIf(!hasWebGpu)('device memory (webgpu)', () => {
  it('intermediates are freed after each run; dispose frees the weights', async () => {
    const backend = await gpu();
    const live = () => backend.ctx.pool.snapshot().liveBytes;
    const before = live();
    const model = await loadModel(GPT2, { backend });
    const loaded = live();
    expect(loaded).toBeGreaterThan(before);
    const feeds = { input_ids: ids([[1, 2, 3, 4, 5]]) };
    const runOnce = async () => {
      const out = await model.run(feeds);
      const held = live();
      for (const t of Object.values(out)) t.dispose();
      return held;
    };
    await runOnce(); // builds the plan: its static values stay
    const afterPlan = live();
    const held = await runOnce();
    // The second run leaves nothing behind but its output, and frees that when asked.
    expect(live()).toBe(afterPlan);
    expect(held - afterPlan).toBeLessThanOrEqual(5 * 97 * 4 + 4096);
    model.dispose();
    expect(live()).toBe(before);
  });
});
