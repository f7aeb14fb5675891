/**
 * Single-file adapter bundles: a safetensors file whose __metadata__ also carries the
 * adapter config. Round trips, the folder ↔ bundle path, and what is refused.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  BUNDLE_CONFIG_KEY, BUNDLE_FORMAT, BUNDLE_MARKER_KEY, decodeAdapterBundle, decodeSafetensors, encodeAdapterBundle, encodeSafetensors,
  loadFromOpfs, readAdapterBundle, readPeftFolder, saveToOpfs, writeAdapterBundle, writePeftFolder, type OpfsDirectory,
} from '../../src/io/index.js';

const FOLDER = 'test/fixtures/safetensors/tiny-gpt2-lora';
const work = mkdtempSync(join(tmpdir(), 'webpeft-bundle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bits = async (t: Tensor) => {
  const d = await t.data();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength).slice();
};

describe('adapter bundles', () => {
  it('folder → bundle → folder keeps the config and every tensor bit for bit', async () => {
    const folder = await readPeftFolder(FOLDER);
    const path = join(work, 'tiny.safetensors');
    const bytes = await writeAdapterBundle(path, folder, { metadata: { note: 'made in a test' } });
    expect(readdirSync(work)).toEqual(['tiny.safetensors']); // no temporary file left
    const bundle = await readAdapterBundle(path);
    expect(bundle.config).toEqual(folder.config);
    expect(bundle.metadata).toEqual({ note: 'made in a test' });
    for (const [name, t] of Object.entries(folder.tensors)) expect(await bits(bundle.tensors[name]), name).toEqual(await bits(t));

    // Still a plain safetensors file: PEFT's weights and format marker, the config as a string.
    const plain = decodeSafetensors(bytes);
    expect(Object.keys(plain.tensors).sort()).toEqual(Object.keys(folder.tensors).sort());
    expect(plain.metadata.format).toBe('pt');
    expect(plain.metadata[BUNDLE_MARKER_KEY]).toBe(BUNDLE_FORMAT);
    expect(JSON.parse(plain.metadata[BUNDLE_CONFIG_KEY])).toEqual(folder.config);

    const files = await writePeftFolder(bundle, join(work, 'again'));
    expect((await readPeftFolder(join(work, 'again'))).config).toEqual(folder.config);
    expect(files['adapter_model.safetensors']).toEqual(new Uint8Array(await encodeSafetensors(folder.tensors, { metadata: { format: 'pt' } })));
  });

  it('reads from bytes, a Blob and a File, with float16 kept or widened', async () => {
    const tensors = { 'base_model.model.a.lora_A.weight': new Tensor('float16', Uint16Array.from([0x3555]), [1, 1]) };
    const bytes = await encodeAdapterBundle({ config: { r: 1, peft_type: 'LORA' }, tensors });
    for (const src of [bytes, new Blob([bytes]), new File([bytes], 'a.safetensors')]) {
      const b = await readAdapterBundle(src);
      expect(b.config).toEqual({ r: 1, peft_type: 'LORA' });
      expect(b.tensors['base_model.model.a.lora_A.weight'].dtype).toBe('float16');
    }
    const wide = decodeAdapterBundle(bytes, { toFloat32: true });
    expect(await wide.tensors['base_model.model.a.lora_A.weight'].toArray()).toEqual([0.333251953125]);
  });

  it('refuses files that are not bundles, other versions, reserved keys and bad configs', async () => {
    const t = { w: new Tensor('float32', [1], [1]) };
    const plain = await encodeSafetensors(t, { metadata: { format: 'pt' } });
    expect(() => decodeAdapterBundle(plain, { name: 'x.safetensors' })).toThrow(/x\.safetensors: not a webpeft adapter bundle .*readPeftFolder/);
    const future = await encodeSafetensors(t, { metadata: { [BUNDLE_MARKER_KEY]: 'peft-adapter/9', [BUNDLE_CONFIG_KEY]: '{}' } });
    expect(() => decodeAdapterBundle(future)).toThrow(/bundle format "peft-adapter\/9" is not supported/);
    const noConfig = await encodeSafetensors(t, { metadata: { [BUNDLE_MARKER_KEY]: BUNDLE_FORMAT } });
    expect(() => decodeAdapterBundle(noConfig)).toThrow(/has no "peft_config" entry/);
    const badConfig = await encodeSafetensors(t, { metadata: { [BUNDLE_MARKER_KEY]: BUNDLE_FORMAT, [BUNDLE_CONFIG_KEY]: '[1' } });
    expect(() => decodeAdapterBundle(badConfig)).toThrow(/"peft_config" is not valid JSON/);
    await expect(encodeAdapterBundle({ config: { r: 1 }, tensors: t }, { metadata: { peft_config: 'x' } })).rejects.toThrow(/metadata key "peft_config" is reserved/);
    await expect(encodeAdapterBundle({ config: [] as unknown as object, tensors: t })).rejects.toThrow(/config must be a JSON object/);
  });
});

describe('OPFS helpers (a stand-in directory: Node has no OPFS)', () => {
  it('saves and loads a bundle, replacing the file on save', async () => {
    const files = new Map<string, Uint8Array<ArrayBuffer>>();
    const dir: OpfsDirectory = {
      async getFileHandle(name, opts) {
        if (!files.has(name) && !opts?.create) throw new DOMException(`${name} not found`, 'NotFoundError');
        return {
          getFile: async () => new Blob([files.get(name) ?? new Uint8Array()]),
          createWritable: async () => {
            const parts: Uint8Array[] = [];
            return {
              write: async (d: BufferSource | Blob) => void parts.push(new Uint8Array(d instanceof Blob ? await d.arrayBuffer() : (d as Uint8Array))),
              close: async () => void files.set(name, Uint8Array.from(parts.flatMap((p) => [...p]))),
            };
          },
        };
      },
    };
    const bytes = await encodeAdapterBundle({ config: { r: 1 }, tensors: { w: new Tensor('float32', [2], [1]) } });
    await saveToOpfs('a.safetensors', new Uint8Array(3), dir);
    await saveToOpfs('a.safetensors', bytes, dir);
    expect((await readAdapterBundle(await loadFromOpfs('a.safetensors', dir))).config).toEqual({ r: 1 });
    await expect(loadFromOpfs('missing', dir)).rejects.toThrow(/missing not found/);
    await expect(loadFromOpfs('a.safetensors')).rejects.toThrow(/OPFS: navigator\.storage\.getDirectory is not available/);
  });
});
