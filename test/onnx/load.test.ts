import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxModel, loadModelProto } from '../../src/onnx/index.js';
import { decodeModelProto, OnnxDecodeError } from '../../src/onnx/proto.js';
import { DataType, encode, externalTensor, f32, matmulModel, node, valueInfo } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'webpeft-onnx-'));

/** A model whose two weights live in `weights.bin` at odd offsets, after some junk bytes. */
function externalModel(location = 'weights.bin') {
  const w1 = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
  const w2 = Uint16Array.from([0x3c00, 0x4000, 0xc000]); // fp16 [1, 3] = 1, 2, -2
  const data = new Uint8Array(13 + 24 + 3 + 6);
  data.set(new Uint8Array(w1.buffer), 13);
  data.set(new Uint8Array(w2.buffer), 13 + 24 + 3);
  const bytes = encode({
    nodes: [node('MatMul', ['x', 'w1'], ['h'], 'mm'), node('Cast', ['w2'], ['w2f'], 'cast', { to: 1 }), node('Add', ['h', 'w2f'], ['y'], 'add')],
    initializers: [externalTensor('w1', DataType.FLOAT, [2, 3], location, 13, 24), externalTensor('w2', DataType.FLOAT16, [1, 3], location, 40, 6)],
    inputs: [valueInfo('x', DataType.FLOAT, ['batch', 2])],
    outputs: [valueInfo('y', DataType.FLOAT, ['batch', 3])],
  });
  return { bytes, data };
}

async function checkWeights(ir: Awaited<ReturnType<typeof readOnnxModel>>) {
  expect(ir.initializers.get('w1')!.dims).toEqual([2, 3]);
  expect(await ir.initializers.get('w1')!.toArray()).toEqual([1, 2, 3, 4, 5, 6]);
  expect(ir.initializers.get('w2')!.dtype).toBe('float16');
  expect(await ir.initializers.get('w2')!.toArray()).toEqual([1, 2, -2]);
}

describe('external data', () => {
  const { bytes, data } = externalModel();
  const modelPath = join(dir, 'model.onnx');
  writeFileSync(modelPath, bytes);
  writeFileSync(join(dir, 'weights.bin'), data);

  it('reads slices at offsets from a file beside a model given by path', async () => {
    const loaded = await loadModelProto(modelPath);
    expect(loaded.externalFiles).toEqual([join(dir, 'weights.bin')]);
    await checkWeights(await readOnnxModel(modelPath));
  });

  it('resolves against a file: URL', async () => {
    await checkWeights(await readOnnxModel(pathToFileURL(modelPath)));
  });

  it('takes bytes plus opts.externalData (Uint8Array or Blob), copying unaligned slices', async () => {
    await checkWeights(await readOnnxModel(bytes, { externalData: { 'weights.bin': data } }));
    const blob = (b: Uint8Array) => new Blob([b as Uint8Array<ArrayBuffer>]);
    await checkWeights(await readOnnxModel(blob(bytes), { externalData: { 'weights.bin': blob(data) } }));
  });

  it('takes bytes plus opts.base, the folder the data is in', async () => {
    await checkWeights(await readOnnxModel(bytes, { base: dir }));
  });

  describe('over HTTP', () => {
    let server: Server;
    let base = '';
    beforeAll(async () => {
      server = createServer((req, res) => {
        const file = { '/m/model.onnx': bytes, '/m/weights.bin': data }[req.url ?? ''];
        res.statusCode = file ? 200 : 404;
        res.end(file ? Buffer.from(file) : 'not found');
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
      const addr = server.address() as { port: number };
      base = `http://127.0.0.1:${addr.port}/m/`;
    });
    afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

    it('fetches the model and resolves location relative to its URL', async () => {
      await checkWeights(await readOnnxModel(`${base}model.onnx`));
    });

    it('a missing external file names the URL and the tensors', async () => {
      const other = externalModel('gone.bin').bytes;
      await expect(readOnnxModel(other, { base, name: 'remote.onnx' })).rejects.toThrow(
        /remote\.onnx: cannot read external data file '.*\/m\/gone\.bin' \(for tensor 'w1' and 1 more\): HTTP 404/,
      );
    });
  });

  it('a missing external file is an error naming the file and the tensor', async () => {
    const p = join(dir, 'missing.onnx');
    writeFileSync(p, externalModel('nope.data').bytes);
    const err = await readOnnxModel(p).catch((e: Error) => e);
    expect((err as Error).message).toContain(`${p}: cannot read external data file '${join(dir, 'nope.data')}'`);
    expect((err as Error).message).toContain("tensor 'w1' and 1 more");
    expect((err as Error).message).toContain('file not found');
  });

  it('bytes without a way to find the data say how to pass it', async () => {
    await expect(readOnnxModel(bytes)).rejects.toThrow(/model\.onnx: tensor 'w1' and 1 more keep their data in external file 'weights\.bin'.*opts\.externalData/);
  });

  it('a data file shorter than offset + length names the tensor and the range', async () => {
    await expect(readOnnxModel(bytes, { externalData: { 'weights.bin': data.subarray(0, 30) } })).rejects.toThrow(
      /tensor 'w1': cannot read bytes \[13, 37\) of 'weights\.bin'/,
    );
  });

  it('refuses locations outside the model folder', async () => {
    const evil = externalModel('../../etc/passwd').bytes;
    await expect(readOnnxModel(evil, { base: dir })).rejects.toThrow(/OnnxDecodeError|must be a relative path inside the model's folder/);
    await expect(readOnnxModel(externalModel('/etc/passwd').bytes, { base: dir })).rejects.toThrow(/must be a relative path/);
  });
});

describe('corrupt and truncated files', () => {
  const good = matmulModel(f32('w', [2, 2], [1, 2, 3, 4]), 2, 2);

  it('a truncated buffer is an OnnxDecodeError naming the file', () => {
    for (const cut of [1, 7, Math.floor(good.length / 2), good.length - 3]) {
      const run = () => decodeModelProto(good.subarray(0, cut), 'model.onnx');
      expect(run).toThrow(OnnxDecodeError);
      expect(run).toThrow(/^model\.onnx: not a valid ONNX model/);
    }
  });

  it('a truncated file on disk names its path', async () => {
    const p = join(dir, 'truncated.onnx');
    writeFileSync(p, good.subarray(0, good.length - 5));
    const err = (await readOnnxModel(p).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(OnnxDecodeError);
    expect(String(err)).toMatch(new RegExp(`^OnnxDecodeError: ${p.replace(/[.]/g, '\\.')}: not a valid ONNX model`));
  });

  it('random bytes and empty files are errors, never crashes', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 0xff;
    for (let k = 0; k < 50; k++) {
      const junk = Uint8Array.from({ length: 64 + k }, rnd);
      expect(() => decodeModelProto(junk, 'junk.onnx')).toThrow(/^junk\.onnx: /);
    }
    expect(() => decodeModelProto(new Uint8Array(0), 'empty.onnx')).toThrow(/empty\.onnx: the file is empty/);
  });

  it('flipped bytes in a valid model either decode or fail with the file name', async () => {
    for (let i = 0; i < good.length; i += 3) {
      const bad = good.slice();
      bad[i] ^= 0xa5;
      const out = await readOnnxModel(bad, { name: 'flipped.onnx' }).catch((e: Error) => e);
      if (out instanceof Error) expect(out.message).toMatch(/^flipped\.onnx: /);
    }
  });

  it('a missing model file names it', async () => {
    await expect(readOnnxModel(join(dir, 'absent.onnx'))).rejects.toThrow(/absent\.onnx: cannot read the model file/);
  });

  it('reads the same bytes it wrote (round trip through the descriptor)', () => {
    const m = decodeModelProto(readFileSync(join(dir, 'model.onnx')), 'model.onnx');
    expect(m.graph!.node.map((n) => n.opType)).toEqual(['MatMul', 'Cast', 'Add']);
    expect(m.graph!.initializer[1].externalData.map((e) => e.value)).toEqual(['weights.bin', '40', '6']);
  });
});
