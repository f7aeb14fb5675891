/**
 * safetensors against files written by scripts/fixtures/make_safetensors_fixtures.py (a
 * hand-written copy of Hugging Face's writer: Debian has no python3-safetensors), against the
 * Rust crate's own byte-level test vectors, and against broken files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../../src/tensor/tensor.js';
import {
  decodeSafetensors, encodeSafetensors, parseSafetensorsHeader, readSafetensors, SafetensorsError, serializeSafetensors,
  writeSafetensors, type RawTensor,
} from '../../src/io/index.js';

const DIR = 'test/fixtures/safetensors';
const fixture = () => new Uint8Array(readFileSync(`${DIR}/dtypes.safetensors`));

interface Expected {
  metadata: Record<string, string>;
  order: string[];
  tensors: Record<string, { dtype: string; shape: number[]; bits?: number[]; values?: (number | string)[] }>;
}
const expected: Expected = JSON.parse(readFileSync(`${DIR}/dtypes.json`, 'utf8'));

const f32Bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A file from a header object and a data buffer, the header padded as the writer pads it. */
function build(header: unknown, data: Uint8Array | number, opts: { headerLength?: bigint; raw?: string } = {}): Uint8Array {
  const text = new TextEncoder().encode(opts.raw ?? JSON.stringify(header));
  const len = Math.ceil(text.length / 8) * 8;
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + len + body.length).fill(0x20, 8, 8 + len);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(len), true);
  out.set(text, 8);
  out.set(body, 8 + len);
  return out;
}

const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('safetensors: files from the Python writer', () => {
  it('reads every dtype webpeft supports with exact values, shapes and metadata', () => {
    const { tensors, metadata } = decodeSafetensors(fixture(), { name: 'dtypes.safetensors' });
    expect(metadata).toEqual(expected.metadata);
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(expected.tensors).sort());
    for (const [name, want] of Object.entries(expected.tensors)) {
      const t = tensors[name];
      expect(t.dims, name).toEqual(want.shape);
      const host = t.hostData();
      switch (want.dtype) {
        case 'F32':
          expect(t.dtype).toBe('float32');
          expect(f32Bits(host as Float32Array), name).toEqual(want.bits);
          break;
        case 'F16': // raw half bits
          expect(t.dtype).toBe('float16');
          expect(Array.from(host as Uint16Array), name).toEqual(want.bits);
          break;
        case 'BF16': // widened exactly: the bits are the float32's top half
          expect(t.dtype).toBe('float32');
          expect(f32Bits(host as Float32Array), name).toEqual(want.bits!.map((b) => (b << 16) >>> 0));
          break;
        case 'I64':
          expect(t.dtype).toBe('int64');
          expect(Array.from(host as BigInt64Array, String), name).toEqual(want.values);
          break;
        default: {
          const dtype = { I32: 'int32', I8: 'int8', U8: 'uint8', BOOL: 'bool' }[want.dtype];
          expect(t.dtype, name).toBe(dtype);
          expect(Array.from(host as Int32Array), name).toEqual(want.values);
        }
      }
    }
    expect(tensors.scalar.dims).toEqual([]);
    expect(tensors.empty.size).toBe(0);
  });

  it('F16 widens to float32 on request, exactly', async () => {
    const { tensors } = decodeSafetensors(fixture(), { toFloat32: true });
    expect(tensors.half.dtype).toBe('float32');
    const values = await tensors.half.toArray();
    expect(values.slice(0, 7)).toEqual([1, -2, 0.3330078125, 65504, Infinity, -Infinity, 2 ** -24]);
    expect(values[7]).toBeNaN();
  });

  it('lists tensors in data order, which is the reference layout (dtype widest first, then name as UTF-8 bytes)', () => {
    const header = parseSafetensorsHeader(fixture());
    expect(header.tensors.map(([n]) => n)).toEqual(expected.order);
    expect(header.dataStart % 8).toBe(0);
  });

  it('rewrites the file byte for byte: from its stored tensors, and from Tensors where no BF16 is involved', async () => {
    const bytes = fixture();
    const header = parseSafetensorsHeader(bytes);
    const raw: Record<string, RawTensor> = {};
    // Fed in another order than the file's: the writer sorts.
    for (const [name, info] of [...header.tensors].reverse()) {
      const [b, e] = info.dataOffsets;
      raw[name] = { dtype: info.dtype, shape: info.shape, data: bytes.subarray(header.dataStart + b, header.dataStart + e) };
    }
    expect(serializeSafetensors(raw, { metadata: header.metadata })).toEqual(bytes);
    const { tensors } = decodeSafetensors(bytes);
    const mixed = { ...tensors, brain: raw.brain }; // BF16 reads as float32; write its stored form back
    expect(await encodeSafetensors(mixed, { metadata: expected.metadata })).toEqual(bytes);
  });
});

describe('safetensors: the Rust crate test vectors (safetensors/src/tensor.rs)', () => {
  const attn = (shape: number[]) => new Tensor('float32', [0, 1, 2, 3, 4, 5], shape);

  it('test_serialization and test_serialization_forced_alignement', async () => {
    const a = await encodeSafetensors({ 'attn.0': attn([1, 2, 3]) });
    expect(Array.from(a.subarray(0, 8))).toEqual([64, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(a.subarray(8, 72))).toBe('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}');
    expect(Array.from(a.subarray(72))).toEqual([0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64]);
    const b = await encodeSafetensors({ attn0: attn([1, 1, 2, 3]) });
    expect(Array.from(b.subarray(0, 8))).toEqual([72, 0, 0, 0, 0, 0, 0, 0]);
    expect(new TextDecoder().decode(b.subarray(8, 80))).toBe('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ');
  });

  it('test_empty, with and without metadata', async () => {
    expect(Array.from(await encodeSafetensors({}))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const m = await encodeSafetensors({}, { metadata: { framework: 'pt' } });
    expect(m[0]).toBe(40);
    expect(new TextDecoder().decode(m.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(decodeSafetensors(m).metadata).toEqual({ framework: 'pt' });
  });

  it('test_deserialization and test_empty_shapes_allowed', () => {
    const t = decodeSafetensors(build({ test: { dtype: 'I32', shape: [2, 2], data_offsets: [0, 16] } }, 16)).tensors.test;
    expect([t.dtype, t.dims]).toEqual(['int32', [2, 2]]);
    const s = decodeSafetensors(build({ test: { dtype: 'I32', shape: [], data_offsets: [0, 4] } }, 4)).tensors.test;
    expect([s.dims, s.size]).toEqual([[], 1]);
  });
});

describe('safetensors: broken files are refused, naming the file and the tensor', () => {
  const read = (bytes: Uint8Array) => () => decodeSafetensors(bytes, { name: 'bad.safetensors' });
  const good = build({ a: f32([2], 0, 8), b: f32([1], 8, 12) }, 12);

  it('accepts the well-formed file these cases start from', () => {
    expect(Object.keys(decodeSafetensors(good).tensors)).toEqual(['a', 'b']);
  });

  it.each([
    ['empty file', new Uint8Array(0), /bad\.safetensors: is 0 bytes, too short/],
    ['truncated inside the length', good.subarray(0, 5), /too short for the 8-byte header length/],
    ['truncated inside the header', good.subarray(0, 20), /runs past the end of the file .*truncated/],
    ['truncated inside the data', good.subarray(0, good.length - 2), /tensor "b": data_offsets \[8, 12\] run past the data buffer \(10 bytes\)/],
    ['header length over the limit', build({}, 0, { headerLength: 1n << 40n }), /header length 1099511627776 is over the 100000000-byte limit/],
    ['header length past the end', build({}, 0, { headerLength: 4096n }), /header length 4096 runs past the end/],
    ['header length = 2^64 - 1', build({}, 0, { headerLength: (1n << 64n) - 1n }), /over the .*limit/],
    ['non-JSON header', build(null, 0, { raw: '{"a": [1, 2' }), /header is not valid JSON/],
    ['non-UTF-8 header', (() => { const b = build(null, 0, { raw: '{"\u00e9":1}' }); b[10] = 0xff; return b; })(), /not valid UTF-8/],
    ['header is an array', build([1, 2], 0), /must be a JSON object, got an array/],
    ['unknown dtype', build({ a: { dtype: 'F13', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "a": unknown dtype "F13"/],
    ['negative dimension', build({ a: f32([-1], 0, 4) }, 4), /tensor "a": shape must be a list of integers ≥ 0, got \[-1\]/],
    ['fractional dimension', build({ a: f32([1.5], 0, 4) }, 4), /tensor "a": shape must be/],
    ['missing data_offsets', build({ a: { dtype: 'F32', shape: [1] } }, 4), /tensor "a": data_offsets must be \[begin, end\]/],
    ['offsets that end before they begin', build({ a: f32([0], 4, 0) }, 4), /tensor "a": data_offsets \[4, 0\] end before they begin/],
    ['wrong byte length', build({ a: f32([3], 0, 8) }, 8), /tensor "a": F32 \[3\] needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ['overlapping tensors', build({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12), /tensor "b" \(bytes 4\.\.12\) overlaps tensor "a" \(ends at 8\)/],
    ['the same bytes twice', build({ a: f32([2], 0, 8), b: f32([2], 0, 8) }, 8), /overlaps/],
    ['a hole between tensors', build({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, 12), /bytes 4\.\.8 of the data buffer belong to no tensor \(a hole before "b"\)/],
    ['a hole at the start', build({ a: f32([1], 4, 8) }, 8), /bytes 0\.\.4 .*belong to no tensor/],
    ['trailing bytes', build({ a: f32([1], 0, 4) }, 9), /5 bytes after the last tensor's data/],
    ['non-string metadata', build({ __metadata__: { epoch: 3 } }, 0), /__metadata__\["epoch"\] must be a string, got 3/],
    ['metadata not an object', build({ __metadata__: 'pt' }, 0), /__metadata__ must be an object of strings/],
    ['a tensor entry that is not an object', build({ a: [0, 4] }, 4), /tensor "a": expected \{dtype, shape, data_offsets\}/],
  ])('%s', (_, bytes, message) => {
    expect(read(bytes)).toThrow(SafetensorsError);
    expect(read(bytes)).toThrow(message);
  });

  it('a valid file with a dtype webpeft does not read names the tensor and the dtype', () => {
    const f = build({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8);
    expect(parseSafetensorsHeader(f).tensors[0][1].dtype).toBe('F64'); // valid safetensors
    expect(read(f)).toThrow(/bad\.safetensors: tensor "w": dtype F64 is not supported \(webpeft reads F32, F16, BF16, I64, I32, I8, U8, BOOL\)/);
  });

  it('a name like __proto__ stays a plain tensor entry', () => {
    const raw = '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const { tensors } = decodeSafetensors(build(null, 8, { raw }));
    expect(Object.keys(tensors)).toEqual(['x', '__proto__']);
    expect(Object.getPrototypeOf(tensors)).toBe(Object.prototype);
    expect(tensors['__proto__']).toBeInstanceOf(Tensor);
  });
});

describe('safetensors: writing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webpeft-st-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips every writable dtype, with metadata', async () => {
    const tensors = {
      f: new Tensor('float32', [1.5, -2, 3e-39, NaN], [2, 2]),
      h: new Tensor('float16', Uint16Array.from([0x3c00, 0x7e00, 0x8000]), [3]),
      l: new Tensor('int64', [-(2n ** 63n), 2n ** 63n - 1n], [2]),
      i: new Tensor('int32', [1, -1], [1, 2]),
      b: new Tensor('int8', [-128], [1]),
      u: new Tensor('uint8', [255, 0], [2]),
      m: new Tensor('bool', [1, 0, 1], [3]),
      s: new Tensor('float32', [7], []),
      z: new Tensor('float32', [], [0, 5]),
    };
    const bytes = await encodeSafetensors(tensors, { metadata: { format: 'pt', note: '✓' } });
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: '✓' });
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].dtype, name).toBe(t.dtype);
      expect(back.tensors[name].dims, name).toEqual(t.dims);
      const a = t.hostData();
      const b = back.tensors[name].hostData();
      expect(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), name).toEqual(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    }
  });

  it('refuses what safetensors cannot hold', async () => {
    await expect(encodeSafetensors({ q: new Tensor('int4', [1, 2], [2]) })).rejects.toThrow(/tensor "q": int4 tensors cannot be stored/);
    await expect(encodeSafetensors({ __metadata__: new Tensor('float32', [1]) })).rejects.toThrow(/reserved for the metadata/);
    expect(() => serializeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Uint8Array(4) } })).toThrow(/tensor "w": F32 \[2\] needs 8 bytes, got 4/);
    await expect(encodeSafetensors({}, { metadata: { n: 3 as unknown as string } })).rejects.toThrow(/metadata\["n"\] must be a string/);
  });

  it('writes a file atomically (no temporary file left) and reads it from a path, a file: URL, bytes, a Blob and a File', async () => {
    const path = join(dir, 'w.safetensors');
    const tensors = { w: new Tensor('float32', [1, 2, 3], [3]) };
    const bytes = await writeSafetensors(path, tensors, { metadata: { format: 'pt' } });
    await writeSafetensors(path, { w: new Tensor('float32', [4, 5, 6], [3]) }); // replaces it
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const sources = [path, pathToFileURL(path), new Uint8Array(readFileSync(path)).buffer, new Blob([readFileSync(path)]), new File([readFileSync(path)], 'w.safetensors')];
    for (const src of sources) expect(await (await readSafetensors(src)).tensors.w.toArray()).toEqual([4, 5, 6]);
    expect(decodeSafetensors(bytes).metadata).toEqual({ format: 'pt' });
    await expect(readSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(/missing\.safetensors: cannot read/);
    await expect(readSafetensors(new File([new Uint8Array(3)], 'tiny.safetensors'))).rejects.toThrow(/^tiny\.safetensors: is 3 bytes/);
  });

  it('reads from a URL through fetch and reports HTTP errors with the URL', async () => {
    const bytes = await encodeSafetensors({ w: new Tensor('float32', [9], [1]) });
    const fakeFetch = (async (u: URL) =>
      u.pathname.endsWith('/ok.safetensors') ? new Response(bytes) : new Response('nope', { status: 404, statusText: 'Not Found' })) as unknown as typeof fetch;
    expect(await (await readSafetensors('https://example.test/a/ok.safetensors', { fetch: fakeFetch })).tensors.w.toArray()).toEqual([9]);
    await expect(readSafetensors('https://example.test/a/gone.safetensors', { fetch: fakeFetch })).rejects.toThrow(/HTTP 404 Not Found for https:\/\/example\.test\/a\/gone\.safetensors/);
  });
});
