/**
 * PeftModel behaviour beyond PyTorch parity (test/peft/lora.test.ts): frozen base weights,
 * trained biases checked by central differences, seeded LoRA dropout, parameter counts,
 * and clear errors.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor, type Backend } from '../../src/index.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { randn } from '../helpers/numeric.js';

const GPT2 = 'test/fixtures/models/tiny-gpt2/model.onnx';
const BERT = 'test/fixtures/models/tiny-bert/model.onnx';

const ids = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const BATCH = { input_ids: ids([[5, 17, 3, 80, 41, 9], [60, 2, 2, 71, 33, 12]]) };

function bertBatch() {
  const ref = JSON.parse(readFileSync('test/fixtures/models/tiny-bert/reference.json', 'utf8')).full.inputs;
  const t = (r: { dims: number[]; data: number[] }) => new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims);
  return { input_ids: t(ref.input_ids), attention_mask: t(ref.attention_mask), token_type_ids: t(ref.token_type_ids), labels: new Tensor('int64', BigInt64Array.of(1n, 0n), [2]) };
}

/** Every tensor of the adapter moved by a random step, as an optimizer would. */
async function perturbAll(peft: ReturnType<typeof getPeftModel>, seed: number): Promise<void> {
  const next: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(peft.adapterTensors())) {
    const v = await t.toArray();
    const d = randn(t.dims, seed++).hostData<Float32Array>();
    next[name] = new Tensor('float32', Float32Array.from(v, (x, i) => x + 0.05 * d[i]), t.dims);
    t.dispose();
  }
  peft.setAdapterTensors(next);
}

function suite(backend: () => Promise<Backend>) {
  it('training never writes the base weights: the frozen copies and the base logits stay bit-identical', async () => {
    const b = await backend();
    const base = await loadModel(BERT, { backend: b });
    const batch = bertBatch();
    const { labels, ...feeds } = batch;
    const before = await (await base.run(feeds)).logits.toArray();
    const frozen = ['classifier.weight', 'bert.embeddings.word_embeddings.weight'];
    const weights = await Promise.all(frozen.map(async (n) => base.weight(n)!.toArray()));
    const peft = getPeftModel(base, { r: 4, lora_alpha: 8, target_modules: ['query', 'value'], modules_to_save: ['classifier'], task_type: 'SEQ_CLS' });
    for (let step = 0; step < 3; step++) {
      const { grads } = await peft.computeGradients({ ...feeds, labels }, { seed: step });
      expect(Object.keys(grads)).toContain('base_model.model.classifier.weight');
      for (const g of Object.values(grads)) g.dispose();
      await perturbAll(peft, 100 * step);
    }
    const adapted = await (await peft.run(feeds)).logits.toArray();
    expect(adapted).not.toEqual(before);
    for (const [i, n] of frozen.entries()) expect(await base.weight(n)!.toArray(), n).toEqual(weights[i]);
    peft.disableAdapters();
    expect(await (await peft.run(feeds)).logits.toArray()).toEqual(before);
    expect(await (await base.run(feeds)).logits.toArray()).toEqual(before);
    peft.dispose();
    base.dispose();
  });
}

describe('PeftModel (cpu)', () => {
  suite(async () => new CpuBackend());

  it("bias = 'all': bias gradients equal central differences of the loss", async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 2, lora_alpha: 4, target_modules: ['c_attn'], bias: 'all', init_lora_weights: false });
    const name = 'base_model.model.transformer.h.1.mlp.c_fc.bias';
    const { loss, grads } = await peft.computeGradients(BATCH);
    expect(Object.keys(grads).filter((k) => k.endsWith('.bias')).length).toBeGreaterThan(4);
    const g = await grads[name].toArray();
    const bias = await peft.adapterTensors()[name].toArray();
    const lossWith = async (i: number, d: number) => {
      const v = Float32Array.from(bias);
      v[i] += d;
      peft.setAdapterTensors({ [name]: new Tensor('float32', v, [bias.length]) });
      return (await peft.computeGradients(BATCH)).loss;
    };
    for (const i of [0, 7, 63]) {
      const numeric = ((await lossWith(i, 1e-2)) - (await lossWith(i, -1e-2))) / 2e-2;
      expect(Math.abs(numeric - g[i]), `d loss / d bias[${i}]: analytic ${g[i]}, numeric ${numeric} (loss ${loss})`).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[i]));
    }
  });

  it('LoRA dropout: the same seed gives the same step; another seed or p = 0 differs', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const cfg = { r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_fc'], init_lora_weights: false };
    const drop = getPeftModel(base, { ...cfg, lora_dropout: 0.3 }, 'default', { seed: 3 });
    const plain = getPeftModel(base, cfg, 'default', { seed: 3 });
    const a = await drop.computeGradients(BATCH, { seed: 1 });
    const again = await drop.computeGradients(BATCH, { seed: 1 });
    const other = await drop.computeGradients(BATCH, { seed: 2 });
    const none = await plain.computeGradients(BATCH, { seed: 1 });
    expect(again.loss).toBe(a.loss);
    const key = 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight';
    expect(await again.grads[key].toArray()).toEqual(await a.grads[key].toArray());
    expect(other.loss).not.toBe(a.loss);
    expect(none.loss).not.toBe(a.loss);
    // Inference never drops: run() equals the dropout-free model with the same weights.
    expect(await (await drop.run(BATCH)).logits.toArray()).toEqual(await (await plain.run(BATCH)).logits.toArray());
  });

  it('parameter counts as PEFT prints them', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 4, lora_alpha: 8, target_modules: ['c_attn'] });
    const { trainable, total, percent } = peft.trainableParameters();
    // c_attn is (32 → 96) in 2 layers: 2 · 4 · (32 + 96).
    expect(trainable).toBe(2 * 4 * (32 + 96));
    expect(total).toBeGreaterThan(trainable);
    expect(percent).toBeCloseTo((100 * trainable) / total, 10);
    expect(peft.printTrainableParameters()).toMatch(/^trainable params: 1,024 \|\| all params: [\d,]+ \|\| trainable%: \d+\.\d{4}$/);
  });

  it('errors name what is wrong', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    expect(() => getPeftModel(base, { r: 4, target_modules: ['q_proj'] })).toThrow(/transformer\.h\.\{0,1\}\.attn\.c_attn|c_attn/);
    expect(() => getPeftModel(base, { r: 4, target_modules: ['c_attn'], modules_to_save: ['nowhere'] })).toThrow(/modules_to_save.*'nowhere'/);
    const peft = getPeftModel(base, { r: 4, target_modules: ['c_attn'] });
    expect(() => peft.setAdapterTensors({ 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight': new Tensor('float32', new Float32Array(4), [2, 2]) })).toThrow(
      /c_attn\.lora_A\.weight': expected float32 \[4, 32\], got float32 \[2, 2\]/,
    );
    expect(() => peft.setAdapterTensors({ 'x.lora_A.weight': new Tensor('float32', new Float32Array(1), [1]) })).toThrow(/no tensor 'x\.lora_A\.weight'/);
    await expect(peft.computeGradients({ input_ids: ids([[1]]) })).rejects.toThrow(/at least 2 tokens/);
  });
});

describe.skipIf(!hasWebGpu)('PeftModel (webgpu)', () => suite(gpu));

describe('gradient checkpointing', () => {
  const cases = (backend: () => Promise<Backend>) => {
    it('recomputing each layer gives the same loss and gradients, with dropout, and holds less at the peak', async () => {
      const b = await backend();
      const base = await loadModel(GPT2, { backend: b });
      const peft = getPeftModel(base, { r: 4, lora_alpha: 8, lora_dropout: 0.2, target_modules: ['c_attn', 'c_proj', 'c_fc'], init_lora_weights: false });
      const batch = { input_ids: ids([[5, 17, 3, 80, 41, 9, 1, 2, 3, 4, 5, 6], [60, 2, 2, 71, 33, 12, 7, 8, 9, 10, 11, 12]]) };
      const peak = async (checkpoint: boolean) => {
        const pool = 'ctx' in b ? (b as unknown as { ctx: { pool: { resetPeak(): void; snapshot(): { peakBytes: number; liveBytes: number } } } }).ctx.pool : undefined;
        pool?.resetPeak();
        const before = pool?.snapshot().liveBytes ?? 0;
        const r = await peft.computeGradients(batch, { seed: 4, checkpoint });
        return { r, peak: (pool?.snapshot().peakBytes ?? 0) - before };
      };
      const plain = await peak(false);
      const ckpt = await peak(true);
      expect(ckpt.r.loss).toBe(plain.r.loss);
      for (const [name, g] of Object.entries(plain.r.grads)) expect(await ckpt.r.grads[name].toArray(), name).toEqual(await g.toArray());
      if (b.name === 'webgpu') {
        console.log(`[checkpoint] peak bytes above the model: ${plain.peak} without, ${ckpt.peak} with`);
        expect(ckpt.peak).toBeLessThan(plain.peak);
      }
      peft.dispose();
      base.dispose();
    });
  };
  describe('cpu', () => cases(async () => new CpuBackend()));
  describe.skipIf(!hasWebGpu)('webgpu', () => cases(gpu));
});
