/**
 * Adapters through PEFT folders: save, load under another name, switch between adapters
 * on one base model, delete; mismatched files refused by tensor name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor } from '../../src/index.js';
import { scaleError } from '../helpers/ort.js';

const ref = JSON.parse(readFileSync('test/fixtures/lora/tiny-gpt2.json', 'utf8'));
const c = ref.cases[0];
const fixtureTensors = () =>
  Object.fromEntries(Object.entries(c.adapter as Record<string, { dims: number[]; data: number[] }>).map(([k, v]) => [k, new Tensor('float32', Float32Array.from(v.data), v.dims)]));
const feeds = { input_ids: new Tensor('int64', BigInt64Array.from(ref.inputs.input_ids.data.map(BigInt)), ref.inputs.input_ids.dims) };
const dir = mkdtempSync(join(tmpdir(), 'webpeft-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PEFT adapter folders on a PeftModel (cpu)', () => {
  it('save → load as a second adapter → switch: logits follow the active adapter; delete frees it', async () => {
    const base = await loadModel(ref.onnx, { backend: 'cpu' });
    const peft = getPeftModel(base, c.config);
    peft.setAdapterTensors(fixtureTensors());
    const trained = await (await peft.run(feeds)).logits.toArray();
    expect(scaleError(trained, c.logits.data)).toBeLessThan(1e-4); // PyTorch's logits for this adapter
    await peft.saveAdapter(join(dir, 'trained'));

    const other = getPeftModel(base, { r: 2, lora_alpha: 4, target_modules: ['c_fc'] }, 'fresh');
    const plain = await (await other.run(feeds)).logits.toArray();
    await other.loadAdapter(join(dir, 'trained'), 'trained');
    expect(other.listAdapters()).toEqual(['fresh', 'trained']);
    expect(await (await other.run(feeds)).logits.toArray()).toEqual(plain); // 'fresh' is still active
    other.setAdapter('trained');
    expect(await (await other.run(feeds)).logits.toArray()).toEqual(trained);
    other.setAdapter('fresh');
    other.deleteAdapter('trained');
    expect(other.listAdapters()).toEqual(['fresh']);
    expect(() => other.setAdapter('trained')).toThrow(/no adapter 'trained'; adapters: fresh/);
  });

  it('switching or disabling adapters while merged unmerges first, as PEFT does', async () => {
    const base = await loadModel(ref.onnx, { backend: 'cpu' });
    const before = await (await base.run(feeds)).logits.toArray();
    const peft = getPeftModel(base, c.config);
    peft.setAdapterTensors(fixtureTensors());
    const adapted = await (await peft.run(feeds)).logits.toArray();
    await peft.mergeAdapter();
    expect(scaleError(await (await base.run(feeds)).logits.toArray(), adapted)).toBeLessThan(1e-5); // merged into the base
    peft.addAdapter('zero', c.config); // B = 0
    peft.setAdapter('zero');
    expect(peft.mergedAdapters()).toEqual([]);
    expect(await (await peft.run(feeds)).logits.toArray()).toEqual(before);
    peft.setAdapter('default');
    await peft.mergeAdapter();
    peft.disableAdapters();
    expect(await (await peft.run(feeds)).logits.toArray()).toEqual(before);
  });

  it('a folder for another model is refused by module, and nothing is added', async () => {
    const llama = await loadModel('test/fixtures/models/tiny-llama/model.onnx', { backend: 'cpu' });
    const peft = getPeftModel(llama, { r: 2, target_modules: ['q_proj'] });
    await expect(peft.loadAdapter(join(dir, 'trained'), 'gpt2')).rejects.toThrow(/c_attn|c_proj|c_fc/);
    expect(peft.listAdapters()).toEqual(['default']);
  });
});
