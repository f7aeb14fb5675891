/**
 * ONNX exports of a PeftModel, run by onnxruntime-web: the merged model (weights folded
 * into the initializers, inline or as external data) and the model whose LoRA A/B are
 * graph inputs (fed with the adapter's tensors) give the PeftModel's logits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor } from '../../src/index.js';
import { writeOnnxExport } from '../../src/onnx/export.js';
import { decodeModelProto } from '../../src/onnx/proto.js';
import type { PeftModel } from '../../src/peft/model.js';
import { adapterOf, feedsOf, layoutsFeeds, layoutsModel, loadRef, masked, pseudoRandom } from '../helpers/loraFixtures.js';
import { runOrt, scaleError } from '../helpers/ort.js';
import { DataType, encode, f32, node, tensor, valueInfo } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'webpeft-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const logitsOf = async (m: { run: PeftModel['run'] }, feeds: Record<string, Tensor>) => (await m.run(feeds)).logits.toArray();

const MODELS = ['tiny-gpt2', 'tiny-llama', 'tiny-bert'];

async function fixture(model: string) {
  const ref = loadRef(model);
  const base = await loadModel(ref.onnx, { backend: 'cpu' });
  const peft = getPeftModel(base, ref.cases[0].config);
  peft.setAdapterTensors(adapterOf(ref.cases[0]));
  const feeds = feedsOf(ref);
  return { ref, base, peft, feeds, want: await logitsOf(peft, feeds) };
}

describe('exportMerged (onnxruntime-web)', () => {
  for (const model of MODELS) {
    it(`${model}: the merged file gives the PeftModel's logits; names and graph unchanged`, async () => {
      const { ref, base, peft, feeds, want } = await fixture(model);
      const exported = await peft.exportMerged();
      expect(exported.externalData).toBeUndefined();
      const ort = await runOrt(exported.model, feeds);
      const err = scaleError(masked(ref, ort.logits.data), masked(ref, want));
      console.log(`[export] merged ${model}: onnxruntime-web vs PeftModel ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
      const [orig, out] = [base.onnxProto().graph!, decodeModelProto(exported.model, 'merged').graph!];
      expect(out.node.map((n) => n.name)).toEqual(orig.node.map((n) => n.name));
      expect(out.initializer.map((t) => t.name)).toEqual(orig.initializer.map((t) => t.name));
      expect(out.input.map((v) => v.name)).toEqual(orig.input.map((v) => v.name));
      // webpeft reads its own export back: the same logits as mergeAndUnload
      const back = await loadModel(exported.model, { backend: 'cpu' });
      expect(await logitsOf(back, feeds)).toEqual(await logitsOf(await peft.mergeAndUnload(), feeds));
    });
  }

  it('external data: tensors move to model.onnx.data with offsets; onnxruntime-web and webpeft read it', async () => {
    const { ref, peft, feeds, want } = await fixture('tiny-llama');
    const exported = await peft.exportMerged({ externalData: 'always' });
    const ext = exported.externalData!;
    expect(ext.location).toBe('model.onnx.data');
    expect(ext.parts.reduce((s, p) => s + p.byteLength, 0)).toBe(ext.byteLength);
    const proto = decodeModelProto(exported.model, 'x');
    const moved = proto.graph!.initializer.filter((t) => t.dataLocation === 1);
    expect(moved.length).toBeGreaterThan(10);
    for (const t of moved) expect(Number(t.externalData.find((e) => e.key === 'offset')!.value) % 64).toBe(0);
    const sub = mkdtempSync(join(dir, 'ext-'));
    const path = join(sub, 'model.onnx');
    expect(await writeOnnxExport(path, exported)).toEqual([path, join(sub, 'model.onnx.data')]);
    const ort = await runOrt(path, feeds);
    const err = scaleError(masked(ref, ort.logits.data), masked(ref, want));
    console.log(`[export] merged tiny-llama, external data (${ext.byteLength} bytes): onnxruntime-web vs PeftModel ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    const back = await loadModel(path, { backend: 'cpu' });
    expect(scaleError(masked(ref, await logitsOf(back, feeds)), masked(ref, want))).toBeLessThan(1e-5);
  });
});

describe('exportWithLoraInputs (onnxruntime-web)', () => {
  for (const model of MODELS) {
    it(`${model}: LoRA A/B as graph inputs, fed the adapter, give the PeftModel's logits`, async () => {
      const { ref, peft, feeds, want } = await fixture(model);
      const exported = await peft.exportWithLoraInputs();
      const names = Object.keys(feeds).concat(Object.keys(exported.feeds));
      const inputs = decodeModelProto(exported.model, 'lora').graph!.input.map((v) => v.name);
      expect(inputs.sort()).toEqual(names.sort());
      expect(Object.keys(exported.feeds).sort()).toEqual(Object.keys(ref.cases[0].adapter).filter((k) => k.includes('.lora_')).sort());
      const ort = await runOrt(exported.model, { ...feeds, ...exported.feeds });
      const err = scaleError(masked(ref, ort.logits.data), masked(ref, want));
      console.log(`[export] lora inputs ${model}: onnxruntime-web vs PeftModel ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
    });
  }

  it('another adapter (other rank, scaling folded into B) is just another feed; B = 0 gives the base model', async () => {
    const { ref, base, peft, feeds } = await fixture('tiny-gpt2');
    const exported = await peft.exportWithLoraInputs({ foldScaling: true });
    const ort = await runOrt(exported.model, { ...feeds, ...exported.feeds });
    expect(scaleError(ort.logits.data, await logitsOf(peft, feeds))).toBeLessThan(1e-4);

    peft.addAdapter('r2', { ...ref.cases[0].config, r: 2, lora_alpha: 5 });
    const r2: Record<string, Tensor> = {};
    let seed = 40;
    for (const [k, t] of Object.entries(peft.adapterTensors('r2'))) r2[k] = new Tensor('float32', pseudoRandom(t.size, seed++, 0.3), t.dims);
    peft.setAdapterTensors(r2, 'r2');
    peft.setAdapter('r2');
    const other = await peft.exportWithLoraInputs({ foldScaling: true });
    const ort2 = await runOrt(exported.model, { ...feeds, ...other.feeds }); // the first file, the second adapter's feeds
    const err = scaleError(ort2.logits.data, await logitsOf(peft, feeds));
    console.log(`[export] lora inputs, rank-2 adapter fed to the rank-4 file: ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);

    const zeros = Object.fromEntries(Object.entries(other.feeds).map(([k, t]) => [k, k.includes('lora_B') ? new Tensor('float32', new Float32Array(t.size), t.dims) : t]));
    const ort0 = await runOrt(exported.model, { ...feeds, ...zeros });
    expect(scaleError(ort0.logits.data, await logitsOf(base, feeds))).toBeLessThan(1e-5);
  });

  it('every stored layout (Transpose, Gemm transB): both exports match the PeftModel', async () => {
    const base = await loadModel(layoutsModel(), { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 2, lora_alpha: 3, target_modules: ['l0', 'l1', 'l2', 'l3'] });
    const t: Record<string, Tensor> = {};
    let seed = 7;
    for (const [k, v] of Object.entries(peft.adapterTensors())) t[k] = new Tensor('float32', pseudoRandom(v.size, seed++, 0.3), v.dims);
    peft.setAdapterTensors(t);
    const feeds = layoutsFeeds();
    const want = await logitsOf(peft, feeds);
    const merged = await runOrt((await peft.exportMerged()).model, feeds);
    const lora = await peft.exportWithLoraInputs();
    const injected = await runOrt(lora.model, { ...feeds, ...lora.feeds });
    console.log(`[export] layouts: merged ${scaleError(merged.logits.data, want).toExponential(2)}, lora inputs ${scaleError(injected.logits.data, want).toExponential(2)}`);
    expect(scaleError(merged.logits.data, want)).toBeLessThan(1e-5);
    expect(scaleError(injected.logits.data, want)).toBeLessThan(1e-5);
  });

  it('a quantized (DequantizeLinear) target: no merge, but the LoRA-input export works', async () => {
    const q = Int8Array.from(pseudoRandom(12, 8, 100), Math.round);
    const bytes = encode({
      nodes: [node('DequantizeLinear', ['l0.weight_quantized', 's0'], ['w0'], 'dq0'), node('MatMul', ['x', 'w0'], ['logits'], '/l0/MatMul')],
      initializers: [tensor('l0.weight_quantized', DataType.INT8, [4, 3], { rawData: new Uint8Array(q.buffer) }), f32('s0', [], [0.01])],
      inputs: [valueInfo('x', DataType.FLOAT, [2, 4])],
      outputs: [valueInfo('logits', DataType.FLOAT, [2, 3])],
    });
    const base = await loadModel(bytes, { backend: 'cpu' });
    const peft = getPeftModel(base, { r: 2, lora_alpha: 4, target_modules: ['l0'] });
    const m = peft.adapter().modules.get('l0')!;
    peft.setAdapterTensors({
      'base_model.model.l0.lora_A.weight': new Tensor('float32', pseudoRandom(8, 1), m.a.dims),
      'base_model.model.l0.lora_B.weight': new Tensor('float32', pseudoRandom(6, 2), m.b.dims),
    });
    const feeds = { x: new Tensor('float32', pseudoRandom(8, 3, 1), [2, 4]) };
    await expect(peft.exportMerged()).rejects.toThrow(/quantized/);
    const lora = await peft.exportWithLoraInputs();
    const ort = await runOrt(lora.model, { ...feeds, ...lora.feeds });
    expect(scaleError(ort.logits.data, await logitsOf(peft, feeds))).toBeLessThan(1e-5);
  });
});
