/**
 * PEFT adapter folders both ways:
 *  - Python → webpeft: test/fixtures/safetensors/tiny-gpt2-lora (laid out as PEFT's
 *    save_pretrained by scripts/fixtures/make_safetensors_fixtures.py) loads into a PeftModel
 *    whose logits equal PyTorch's for that adapter (test/fixtures/lora/tiny-gpt2.json);
 *  - webpeft → Python: an adapter webpeft initialised, trained one step and wrote is applied by
 *    scripts/fixtures/apply_adapter.py with PEFT's formula; the logits agree.
 * Plus every kind of source, PEFT's names with the adapter name inside, and atomic writes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, parseLoraConfig, Tensor, toPeftJson } from '../../src/index.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import {
  CONFIG_NAME, encodeSafetensors, readPeftFolder, removeAdapterName, WEIGHTS_NAME, writePeftFolder, type FolderSource,
} from '../../src/io/index.js';
import { scaleError } from '../helpers/ort.js';

const FOLDER = 'test/fixtures/safetensors/tiny-gpt2-lora';
const PYTHON = '/usr/bin/python3';

interface RefTensor {
  dtype: string;
  dims: number[];
  data: number[];
}
const ref: {
  onnx: string;
  inputs: Record<string, RefTensor>;
  labels: RefTensor;
  base_logits: RefTensor;
  cases: { name: string; logits: RefTensor; adapter: Record<string, RefTensor> }[];
} = JSON.parse(readFileSync('test/fixtures/lora/tiny-gpt2.json', 'utf8'));
const loraCase = ref.cases.find((c) => c.name === 'lora')!;
const int64 = (r: RefTensor) => new Tensor('int64', BigInt64Array.from(r.data.map(BigInt)), r.dims);
const feeds = () => ({ input_ids: int64(ref.inputs.input_ids) });

const bitsOf = async (t: Tensor) => {
  const d = await t.data();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
};

const work = mkdtempSync(join(tmpdir(), 'webpeft-peft-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('PEFT folder written by Python, read by webpeft', () => {
  it('loads into a PeftModel whose logits equal PyTorch with PEFT semantics', async () => {
    const { config, tensors, metadata, adapterName } = await readPeftFolder(FOLDER);
    expect(metadata).toEqual({ format: 'pt' });
    expect(adapterName).toBeUndefined();
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(loraCase.adapter).sort());
    expect(parseLoraConfig(config, CONFIG_NAME).warnings).toEqual([]);
    for (const [name, want] of Object.entries(loraCase.adapter)) {
      expect(tensors[name].dims, name).toEqual(want.dims);
      expect(await tensors[name].toArray(), name).toEqual(Array.from(Float32Array.from(want.data)));
    }
    const base = await loadModel(ref.onnx, { backend: new CpuBackend() });
    const peft = getPeftModel(base, config);
    peft.setAdapterTensors(tensors);
    const logits = await (await peft.run(feeds())).logits.toArray();
    const err = scaleError(logits, loraCase.logits.data);
    console.log(`[io] PEFT folder from Python: logits vs PyTorch max error / scale ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-4);
    peft.dispose();
    base.dispose();
  });

  it('reads the same folder from a file: URL, a map of bytes, Blobs or paths, a Map, a File list, and a base URL', async () => {
    const want = await readPeftFolder(FOLDER);
    const cfg = readFileSync(join(FOLDER, CONFIG_NAME));
    const wts = readFileSync(join(FOLDER, WEIGHTS_NAME));
    const fetched: string[] = [];
    const fakeFetch = (async (u: URL) => {
      fetched.push(u.href);
      const name = u.pathname.split('/').pop();
      return name === CONFIG_NAME ? new Response(cfg) : name === WEIGHTS_NAME ? new Response(wts) : new Response(null, { status: 404 });
    }) as unknown as typeof fetch;
    const sources: FolderSource[] = [
      pathToFileURL(FOLDER),
      { [CONFIG_NAME]: cfg, [WEIGHTS_NAME]: new Uint8Array(wts).buffer },
      { [`my-adapter/${CONFIG_NAME}`]: new Blob([cfg]), [`my-adapter/${WEIGHTS_NAME}`]: new Blob([wts]), 'my-adapter/README.md': new Blob(['hi']) },
      { [CONFIG_NAME]: join(FOLDER, CONFIG_NAME), [WEIGHTS_NAME]: join(FOLDER, WEIGHTS_NAME) },
      new Map([[CONFIG_NAME, new Uint8Array(cfg)], [WEIGHTS_NAME, new Uint8Array(wts)]]),
      [new File([wts], WEIGHTS_NAME), new File([cfg], CONFIG_NAME)],
    ];
    for (const src of sources) {
      const got = await readPeftFolder(src);
      expect(got.config).toEqual(want.config);
      for (const [name, t] of Object.entries(want.tensors)) expect(await bitsOf(got.tensors[name]), name).toEqual(await bitsOf(t));
    }
    const viaUrl = await readPeftFolder('https://hub.example/adapters/tiny', { fetch: fakeFetch });
    expect(fetched.sort()).toEqual([`https://hub.example/adapters/tiny/${CONFIG_NAME}`, `https://hub.example/adapters/tiny/${WEIGHTS_NAME}`]);
    expect(Object.keys(viaUrl.tensors)).toEqual(Object.keys(want.tensors));
  });

  it('says what is missing or unreadable', async () => {
    const wts = readFileSync(join(FOLDER, WEIGHTS_NAME));
    await expect(readPeftFolder({ [WEIGHTS_NAME]: wts })).rejects.toThrow(/adapter files: no adapter_config\.json/);
    await expect(readPeftFolder({ [CONFIG_NAME]: new TextEncoder().encode('{}'), 'adapter_model.bin': new Uint8Array(4) })).rejects.toThrow(
      /adapter_model\.bin \(a PyTorch pickle\), which webpeft does not read; save with safe_serialization=True/,
    );
    await expect(readPeftFolder({ [CONFIG_NAME]: new TextEncoder().encode('{"r": 4,'), [WEIGHTS_NAME]: wts })).rejects.toThrow(/adapter_config\.json: not valid UTF-8 JSON/);
    await expect(readPeftFolder({ [CONFIG_NAME]: new TextEncoder().encode('[1]'), [WEIGHTS_NAME]: wts })).rejects.toThrow(/expected a JSON object/);
    await expect(readPeftFolder(join(work, 'nowhere'))).rejects.toThrow(/nowhere: not a folder/);
    const broken = new Uint8Array(wts.subarray(0, wts.length - 4));
    await expect(readPeftFolder([new File([readFileSync(join(FOLDER, CONFIG_NAME))], CONFIG_NAME), new File([broken], WEIGHTS_NAME)])).rejects.toThrow(
      /^adapter_model\.safetensors: tensor .* run past the data buffer/,
    );
  });
});

describe('PEFT names with the adapter name inside', () => {
  const t = () => new Tensor('float32', [1, 2], [1, 2]);

  it('drops it as get_peft_model_state_dict does, and reports it', async () => {
    const names = {
      'base_model.model.h.0.attn.c_attn.lora_A.default.weight': t(),
      'base_model.model.h.0.attn.c_attn.lora_B.default.weight': t(),
      'base_model.model.wte.lora_embedding_A.default': t(),
      'base_model.model.score.modules_to_save.default.weight': t(),
      'base_model.model.h.1.mlp.c_fc.lora_A.weight': t(), // already saved form
    };
    const files = {
      [CONFIG_NAME]: new TextEncoder().encode('{"peft_type": "LORA"}'),
      [WEIGHTS_NAME]: await encodeSafetensors(names, { metadata: { format: 'pt' } }),
    };
    const got = await readPeftFolder(files);
    expect(got.adapterName).toBe('default');
    expect(Object.keys(got.tensors).sort()).toEqual([
      'base_model.model.h.0.attn.c_attn.lora_A.weight',
      'base_model.model.h.0.attn.c_attn.lora_B.weight',
      'base_model.model.h.1.mlp.c_fc.lora_A.weight',
      'base_model.model.score.weight',
      'base_model.model.wte.lora_embedding_A',
    ]);
    await expect(readPeftFolder(files, { adapterName: 'other' })).rejects.toThrow(/tensor names hold adapter name "default", expected "other"/);
  });

  it('refuses several adapter names in one file and names that collide once stripped', () => {
    expect(() => removeAdapterName({ 'x.lora_A.a.weight': t(), 'x.lora_B.b.weight': t() }, 'f')).toThrow(/f: tensor names hold several adapter names \(a, b\)/);
    expect(() => removeAdapterName({ 'x.lora_A.default.weight': t(), 'x.lora_A.weight': t() }, 'f')).toThrow(/both name "x\.lora_A\.weight"/);
  });
});

describe('writing a PEFT folder', () => {
  it('writes both files atomically, as PEFT lays them out, and reads them back bit for bit', async () => {
    const dir = join(work, 'out', 'adapter'); // created, parents too
    const tensors = {
      'base_model.model.a.lora_A.weight': new Tensor('float32', [0.1, -0.2, 3e-41, -0], [2, 2]),
      'base_model.model.a.lora_B.weight': new Tensor('float16', Uint16Array.from([0x3c00, 0xfc00]), [2, 1]),
    };
    const config = { r: 2, peft_type: 'LORA', target_modules: ['a'], alpha_pattern: { z: 1, b: 2 }, lora_alpha: 4 };
    const files = await writePeftFolder({ config, tensors }, dir);
    expect(readdirSync(dir).sort()).toEqual([CONFIG_NAME, WEIGHTS_NAME]);
    expect(new Uint8Array(readFileSync(join(dir, WEIGHTS_NAME)))).toEqual(files[WEIGHTS_NAME]);
    const text = readFileSync(join(dir, CONFIG_NAME), 'utf8');
    expect(text).toBe('{\n  "alpha_pattern": {\n    "b": 2,\n    "z": 1\n  },\n  "lora_alpha": 4,\n  "peft_type": "LORA",\n  "r": 2,\n  "target_modules": [\n    "a"\n  ]\n}');
    const back = await readPeftFolder(dir);
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(back.config).toEqual(config);
    for (const [name, want] of Object.entries(tensors)) {
      expect(back.tensors[name].dtype).toBe(want.dtype);
      expect(await bitsOf(back.tensors[name])).toEqual(await bitsOf(want));
    }
    const widened = await readPeftFolder(dir, { toFloat32: true });
    expect(widened.tensors['base_model.model.a.lora_B.weight'].dtype).toBe('float32');
    expect(await widened.tensors['base_model.model.a.lora_B.weight'].toArray()).toEqual([1, -Infinity]);

    // Overwriting leaves no temporary files; without a folder only the bytes come back.
    await writePeftFolder({ config: { ...config, r: 3 }, tensors }, dir);
    expect(readdirSync(dir).sort()).toEqual([CONFIG_NAME, WEIGHTS_NAME]);
    expect(JSON.parse(readFileSync(join(dir, CONFIG_NAME), 'utf8')).r).toBe(3);
    const bytesOnly = await writePeftFolder({ config, tensors });
    expect(bytesOnly[WEIGHTS_NAME]).toEqual(files[WEIGHTS_NAME]);
  });

  it('a failed write leaves the folder as it was', async () => {
    const dir = join(work, 'keep');
    const tensors = { 'base_model.model.a.lora_A.weight': new Tensor('float32', [1], [1, 1]) };
    await writePeftFolder({ config: { r: 1 }, tensors }, dir);
    const before = readFileSync(join(dir, WEIGHTS_NAME));
    await expect(writePeftFolder({ config: { r: 1 }, tensors: { ...tensors, q: new Tensor('int4', [1, 2], [2]) } }, dir)).rejects.toThrow(/int4/);
    writeFileSync(join(dir, 'blocker'), '');
    await expect(writePeftFolder({ config: { r: 1 }, tensors }, join(dir, 'blocker'))).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual([CONFIG_NAME, WEIGHTS_NAME, 'blocker']);
    expect(readFileSync(join(dir, WEIGHTS_NAME))).toEqual(before);
  });
});

function pythonWithTorch(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `${PYTHON} cannot import torch and onnx: ${(r.stderr || '').trim().split('\n').pop()}`;
}
const noPython = pythonWithTorch();
if (noPython && process.env.WEBPEFT_REQUIRE_PYTHON === '1') throw new Error(`WEBPEFT_REQUIRE_PYTHON=1 but ${noPython}`);
if (noPython) console.log(`[io] SKIPPED webpeft → PEFT logits test: ${noPython} (CI installs python3-torch and python3-onnx)`);

describe.skipIf(!!noPython)('PEFT folder written by webpeft, applied by Python with PEFT\'s formula', () => {
  it('gives the logits webpeft gives (rank_pattern, alpha_pattern, one training step)', async () => {
    const base = await loadModel(ref.onnx, { backend: new CpuBackend() });
    const config = {
      task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: ['c_attn', 'c_proj', 'c_fc'], fan_in_fan_out: true,
      rank_pattern: { c_fc: 2 }, alpha_pattern: { 'attn.c_proj': 16 }, init_lora_weights: 'gaussian',
    };
    const peft = getPeftModel(base, config, 'default', { seed: 11 });
    // B starts at 0 (PEFT's init); one SGD step makes it webpeft's own, non-zero.
    const { grads } = await peft.computeGradients({ ...feeds(), labels: int64(ref.labels) });
    const stepped: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(peft.adapterTensors())) {
      const w = await t.toArray();
      const g = await grads[name].toArray();
      stepped[name] = new Tensor('float32', Float32Array.from(w, (v, i) => v - 20 * g[i]), t.dims);
    }
    peft.setAdapterTensors(stepped);
    const logits = await (await peft.run(feeds())).logits.toArray();
    const plain = await (await base.run(feeds())).logits.toArray();

    const dir = join(work, 'from-webpeft');
    await writePeftFolder({ config: toPeftJson(config), tensors: peft.adapterTensors() }, dir);
    const out = execFileSync(PYTHON, ['scripts/fixtures/apply_adapter.py', dir], { encoding: 'utf8', maxBuffer: 1 << 26 });
    const py = JSON.parse(out) as { logits: { dims: number[]; data: number[] }; input_ids: number[][]; lora_modules: { path: string; r: number; scaling: number }[] };
    expect(py.input_ids.flat()).toEqual(ref.inputs.input_ids.data);
    expect(py.logits.dims).toEqual([2, 7, 97]);
    const modules = Object.fromEntries(py.lora_modules.map((m) => [m.path, [m.r, m.scaling]]));
    expect(modules['transformer.h.0.mlp.c_fc']).toEqual([2, 4]);
    expect(modules['transformer.h.1.attn.c_proj']).toEqual([4, 4]);
    expect(modules['transformer.h.1.mlp.c_proj']).toEqual([4, 2]);

    const adapted = scaleError(logits, plain);
    const err = scaleError(logits, py.logits.data);
    console.log(`[io] webpeft adapter applied by Python: logits error / scale ${err.toExponential(2)} (adapter moves logits by ${adapted.toExponential(2)})`);
    expect(adapted).toBeGreaterThan(1e-2); // the comparison is not vacuous
    expect(err).toBeLessThan(1e-4);
    peft.dispose();
    base.dispose();
  });
});
