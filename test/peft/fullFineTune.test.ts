/**
 * Full and partial fine-tuning on the tiny GPT-2 fixture (cpu backend): weight gradients
 * checked against LoRA's (verified against PyTorch in lora.test.ts) through the identity
 * dB = s·dWᵀ·Aᵀ at B = 0, and against central differences of the loss.
 */
import { describe, expect, it } from 'vitest';
import { fullFineTune, getPeftModel, loadModel, mseLoss, Tensor, Trainer } from '../../src/index.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { scaleError } from '../helpers/ort.js';

const GPT2 = 'test/fixtures/models/tiny-gpt2/model.onnx';
const ids = (rows: number[][]) => new Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);
const BATCH = { input_ids: ids([[5, 17, 3, 80, 41, 9], [60, 2, 2, 71, 33, 12]]) };

describe('full and partial fine-tuning (cpu)', () => {
  it("'all': a gradient for every float weight; c_attn's agrees with LoRA's dB = s·dWᵀ·Aᵀ at B = 0", async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const full = fullFineTune(base, { trainable: 'all' });
    const { loss, grads } = await full.computeGradients(BATCH);
    expect(Object.keys(grads)).toContain('transformer.wte.weight');
    expect(Object.keys(grads).length).toBe(Object.keys(full.trainableTensors()).length);
    const dW = await grads['transformer.h.0.attn.c_attn.weight'].toArray(); // (in 32, out 96), Conv1D layout
    full.dispose();

    const peft = getPeftModel(base, { r: 4, lora_alpha: 8, target_modules: ['c_attn'] }, 'default', { seed: 5 }); // B = 0
    const lora = await peft.computeGradients(BATCH);
    expect(lora.loss).toBeCloseTo(loss, 6);
    const a = await peft.adapterTensors()['base_model.model.transformer.h.0.attn.c_attn.lora_A.weight'].toArray(); // (4, 32)
    const dB = await lora.grads['base_model.model.transformer.h.0.attn.c_attn.lora_B.weight'].toArray(); // (96, 4)
    const want: number[] = [];
    for (let o = 0; o < 96; o++) {
      for (let j = 0; j < 4; j++) {
        let s = 0;
        for (let i = 0; i < 32; i++) s += dW[i * 96 + o] * a[j * 32 + i];
        want.push(2 * s); // s = 8 / 4
      }
    }
    expect(scaleError(dB, want)).toBeLessThan(1e-5);
  });

  it('partial (layer 1 only, by regex): gradients equal central differences; other weights get none', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const part = fullFineTune(base, { trainable: /^transformer\.h\.1\./ });
    const { grads } = await part.computeGradients(BATCH);
    expect(Object.keys(grads).every((k) => k.startsWith('transformer.h.1.'))).toBe(true);
    const name = 'transformer.h.1.mlp.c_proj.weight';
    const g = await grads[name].toArray();
    const w = await part.trainableTensors()[name].toArray();
    const lossAt = async (i: number, d: number) => {
      const v = Float32Array.from(w);
      v[i] += d;
      part.setTrainableTensors({ [name]: new Tensor('float32', v, [128, 32]) });
      return (await part.computeGradients(BATCH)).loss;
    };
    for (const i of [0, 1000, 4095]) {
      const numeric = ((await lossAt(i, 1e-2)) - (await lossAt(i, -1e-2))) / 2e-2;
      expect(Math.abs(numeric - g[i]), `entry ${i}: analytic ${g[i]} numeric ${numeric}`).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[i]));
    }
  });

  it('the Trainer trains it like an adapter: the loss falls, frozen weights stay', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    const frozen = await base.weight('transformer.h.0.attn.c_attn.weight')!.toArray();
    const part = fullFineTune(base, { trainable: (n) => n.startsWith('transformer.h.1.') || n.endsWith('.bias') });
    const losses: number[] = [];
    await new Trainer(part, { train: [BATCH], maxSteps: 30, lr: 1e-2, scheduler: 'constant', onEvent: (e) => void (e.type === 'step' && losses.push(e.loss)) }).train();
    expect(losses.length).toBe(30);
    expect(losses[29]).toBeLessThan(0.5 * losses[0]);
    expect(await base.weight('transformer.h.0.attn.c_attn.weight')!.toArray()).toEqual(frozen);
  });

  it('selection errors name the model and the weights', async () => {
    const base = await loadModel(GPT2, { backend: 'cpu' });
    expect(() => fullFineTune(base, { trainable: /nothing-matches/ })).toThrow(/nothing selected among \d+ float32 weights/);
    expect(() => fullFineTune(base, { trainable: ['transformer.h.9.ln_1.weight'] })).toThrow(/'transformer\.h\.9\.ln_1\.weight' is not a float32 weight/);
  });
});

describe('MSE (regression head)', () => {
  it('loss and gradient by hand', async () => {
    const b = new CpuBackend();
    const logits = new Tensor('float32', Float32Array.of(0.5, -1, 2), [3, 1]);
    const labels = new Tensor('float32', Float32Array.of(1, -1, 0), [3]);
    const { loss, dLogits } = mseLoss(b, logits, labels);
    expect((await loss.toArray())[0]).toBeCloseTo((0.25 + 0 + 4) / 3, 6);
    expect(Array.from(await dLogits.toArray())).toEqual([(2 * -0.5) / 3, 0, (2 * 2) / 3].map((v) => Math.fround(v)));
    expect(dLogits.dims).toEqual([3, 1]);
  });
});
