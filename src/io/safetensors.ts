/**
 * safetensors, read and written as Hugging Face's library does (huggingface/safetensors,
 * safetensors/src/tensor.rs):
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON header][data buffer]
 *   header = { "__metadata__"?: {string: string},
 *              name: { "dtype": "F32", "shape": [..], "data_offsets": [begin, end] }, ... }
 *
 * Offsets are relative to the data buffer; values are little-endian and row-major.
 *
 * Reading validates what `SafeTensors::read_metadata` / `Metadata::validate` do, and says
 * which tensor is wrong: the header length fits the file and the 100 MB limit, the header
 * is UTF-8 JSON holding an object, every dtype is known, shapes are integers ≥ 0, each
 * byte range has exactly prod(shape)·itemsize bytes, the ranges sorted by offset tile
 * the data buffer exactly (an overlap, a hole or trailing bytes are errors: the Rust
 * crate's InvalidOffset / MetadataIncompleteBuffer), metadata values are strings.
 *
 * Writing matches the library's layout byte for byte: tensors sorted by dtype, widest
 * alignment first, then by name; `__metadata__` first in the header (its keys sorted
 * here, the Rust crate's HashMap order is arbitrary); compact JSON padded with spaces to a
 * multiple of 8 bytes, so every tensor's data is aligned for its dtype.
 */
import { f16BitsToF32, Tensor, type DType, type HostData } from '../tensor/tensor.js';
import { readBytes, sourceLabel, writeFilesAtomic, type FileSource } from './source.js';

/**
 * Every safetensors dtype, in the Rust enum's order (the order the writer sorts by, widest
 * last), with its size in bits. C64's place is a guess: no webpeft tensor has it.
 */
const DTYPES = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
} as const;

export type SafetensorsDtype = keyof typeof DTYPES;
const DTYPE_RANK = Object.fromEntries(Object.keys(DTYPES).map((d, i) => [d, i])) as Record<SafetensorsDtype, number>;

/** The safetensors dtypes that become webpeft Tensors, and how. */
const TO_TENSOR: Partial<Record<SafetensorsDtype, DType>> = {
  F32: 'float32', F16: 'float16', BF16: 'float32', I64: 'int64', I32: 'int32', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};
const FROM_TENSOR: Partial<Record<DType, SafetensorsDtype>> = {
  float32: 'F32', float16: 'F16', int64: 'I64', int32: 'I32', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

/** The Rust crate's limit (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

/** A malformed or unsupported safetensors file; the message names the file and, where one is at fault, the tensor. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) in the data buffer. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** In data order (sorted by offset). */
  tensors: [name: string, info: TensorInfo][];
  metadata: Record<string, string>;
  /** Where the data buffer starts in the file: 8 + N. */
  dataStart: number;
}

/** A tensor as stored: its dtype, shape and little-endian bytes. */
export interface RawTensor {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  data: Uint8Array;
}

export interface DecodeOptions {
  /** The file's name in messages (default 'safetensors'). */
  name?: string;
  /** F16 tensors become float32 (exactly) instead of float16 (raw half bits). BF16 always does. */
  toFloat32?: boolean;
  maxHeaderBytes?: number;
}

export interface Safetensors {
  /** In data order. */
  tensors: Record<string, Tensor>;
  /** `__metadata__` ({} when absent). */
  metadata: Record<string, string>;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function checkHost(): void {
  if (!LITTLE_ENDIAN) throw new SafetensorsError('safetensors: big-endian hosts are not supported (values are stored little-endian)');
}

/** Reads and validates the header. Nothing is copied. */
export function parseSafetensorsHeader(bytes: Uint8Array, opts: DecodeOptions = {}): SafetensorsHeader {
  const file = opts.name ?? 'safetensors';
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${file}: ${msg}`);
  };
  const limit = opts.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (bytes.byteLength < 8) fail(`is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(limit)) fail(`header length ${n} is over the ${limit}-byte limit (not a safetensors file?)`);
  const headerLen = Number(n);
  const dataStart = 8 + headerLen;
  if (dataStart > bytes.byteLength) fail(`header length ${headerLen} runs past the end of the file (${bytes.byteLength} bytes): truncated?`);

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, dataStart));
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (!isRecord(json)) return fail(`header must be a JSON object, got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);

  const metadata = parseMetadata(json[METADATA_KEY], fail);
  const dataLen = bytes.byteLength - dataStart;
  const tensors: [string, TensorInfo][] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) continue;
    tensors.push([name, parseInfo(entry, dataLen, (msg) => fail(`tensor ${JSON.stringify(name)}: ${msg}`))]);
  }
  // As Metadata::validate: sorted by offsets, each range starts where the last ended, the last ends the file.
  tensors.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let end = 0;
  let prev = '';
  for (const [name, { dataOffsets: [b, e] }] of tensors) {
    if (b < end) fail(`tensor ${JSON.stringify(name)} (bytes ${b}..${e}) overlaps tensor ${JSON.stringify(prev)} (ends at ${end})`);
    if (b > end) fail(`bytes ${end}..${b} of the data buffer belong to no tensor (a hole before ${JSON.stringify(name)}); the data must be fully covered`);
    end = e;
    prev = name;
  }
  if (end !== dataLen) fail(`${dataLen - end} bytes after the last tensor's data (the data must be fully covered; the data buffer is ${dataLen} bytes)`);
  return { tensors, metadata, dataStart };
}

function parseMetadata(v: unknown, fail: (msg: string) => never): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isRecord(v)) return fail(`${METADATA_KEY} must be an object of strings, got ${describe(v)}`);
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') fail(`${METADATA_KEY}[${JSON.stringify(k)}] must be a string, got ${describe(x)}`);
    setOwn(out, k, x);
  }
  return out;
}

function parseInfo(entry: unknown, dataLen: number, fail: (msg: string) => never): TensorInfo {
  if (!isRecord(entry)) return fail(`expected {dtype, shape, data_offsets}, got ${describe(entry)}`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
    return fail(`unknown dtype ${describe(dtype)} (safetensors has ${Object.keys(DTYPES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) return fail(`shape must be a list of integers ≥ 0, got ${describe(shape)}`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`data_offsets must be [begin, end] integers ≥ 0, got ${describe(offsets)}`);
  }
  const [b, e] = offsets as [number, number];
  if (e < b) fail(`data_offsets [${b}, ${e}] end before they begin`);
  if (e > dataLen) fail(`data_offsets [${b}, ${e}] run past the data buffer (${dataLen} bytes): truncated file?`);
  const n = shape.reduce((a: number, d: number) => a * d, 1);
  const bits = n * DTYPES[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) fail(`shape [${shape.join(', ')}] of ${dtype} is not a whole number of bytes`);
  if (e - b !== bits / 8) {
    fail(`${dtype} [${shape.join(', ')}] needs ${bits / 8} bytes but data_offsets [${b}, ${e}] hold ${e - b}`);
  }
  return { dtype: dtype as SafetensorsDtype, shape: [...shape], dataOffsets: [b, e] };
}

/** All tensors of a safetensors file, validated, as webpeft Tensors (data copied, so the input can go). */
export function decodeSafetensors(bytes: Uint8Array, opts: DecodeOptions = {}): Safetensors {
  checkHost();
  const header = parseSafetensorsHeader(bytes, opts);
  const file = opts.name ?? 'safetensors';
  const tensors: Record<string, Tensor> = {};
  for (const [name, info] of header.tensors) {
    const [b, e] = info.dataOffsets;
    const raw: RawTensor = { dtype: info.dtype, shape: info.shape, data: bytes.subarray(header.dataStart + b, header.dataStart + e) };
    setOwn(tensors, name, rawToTensor(raw, `${file}: tensor ${JSON.stringify(name)}`, opts.toFloat32));
  }
  return { tensors, metadata: header.metadata };
}

/** Reads a safetensors file from a path (Node), URL, bytes or Blob/File. */
export async function readSafetensors(src: FileSource, opts: DecodeOptions & { fetch?: typeof fetch } = {}): Promise<Safetensors> {
  const name = opts.name ?? sourceLabel(src, 'safetensors');
  return decodeSafetensors(await readBytes(src, name, opts.fetch), { ...opts, name });
}

/**
 * One stored tensor as a Tensor: F32 → float32, F16 → float16 (raw half bits; float32 with
 * `toFloat32`), BF16 → float32 (exact: the bits shifted up 16), I64/I32/I8/U8/BOOL → the
 * matching dtype. Other dtypes throw, naming `what`.
 */
export function rawToTensor(raw: RawTensor, what = 'tensor', toFloat32 = false): Tensor {
  const to = TO_TENSOR[raw.dtype];
  if (!to) {
    const known = Object.keys(TO_TENSOR).join(', ');
    throw new SafetensorsError(`${what}: dtype ${raw.dtype} is not supported (webpeft reads ${known})`);
  }
  const buf = new Uint8Array(raw.data).buffer; // an aligned copy (Buffer#slice would be a view)
  let data: HostData;
  if (raw.dtype === 'BF16') {
    const bits = new Uint16Array(buf);
    const u32 = new Uint32Array(bits.length);
    for (let i = 0; i < bits.length; i++) u32[i] = bits[i] << 16;
    data = new Float32Array(u32.buffer);
  } else if (raw.dtype === 'F16' && toFloat32) {
    return new Tensor('float32', Float32Array.from(new Uint16Array(buf), f16BitsToF32), raw.shape);
  } else {
    const Ctor = { F32: Float32Array, F16: Uint16Array, I64: BigInt64Array, I32: Int32Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array }[
      raw.dtype as 'F32'
    ];
    data = new Ctor(buf);
  }
  return new Tensor(to, data, raw.shape);
}

/** A Tensor's stored form (awaits device tensors). int4 has no safetensors dtype and throws. */
export async function tensorToRaw(t: Tensor, what = 'tensor'): Promise<RawTensor> {
  checkHost();
  const dtype = FROM_TENSOR[t.dtype];
  if (!dtype) throw new SafetensorsError(`${what}: ${t.dtype} tensors cannot be stored in safetensors`);
  const host = await t.data();
  return { dtype, shape: [...t.dims], data: new Uint8Array(host.buffer, host.byteOffset, host.byteLength) };
}

export interface EncodeOptions {
  /** `__metadata__`: string values only (PEFT writes {"format": "pt"}). */
  metadata?: Record<string, string>;
  /** The file's name in messages. */
  name?: string;
}

/** A safetensors file from stored tensors, laid out as the reference library lays it out. */
export function serializeSafetensors(tensors: Record<string, RawTensor>, opts: EncodeOptions = {}): Uint8Array<ArrayBuffer> {
  const file = opts.name ?? 'safetensors';
  const enc = new TextEncoder();
  const entries = Object.entries(tensors).map(([name, t]) => ({ name, key: enc.encode(name), t }));
  for (const { name, t } of entries) {
    const at = `${file}: tensor ${JSON.stringify(name)}`;
    if (name === METADATA_KEY) throw new SafetensorsError(`${at}: the name is reserved for the metadata`);
    if (!Object.hasOwn(DTYPES, t.dtype)) throw new SafetensorsError(`${at}: unknown dtype ${describe(t.dtype)}`);
    if (!t.shape.every(isCount)) throw new SafetensorsError(`${at}: shape must be integers ≥ 0, got ${describe(t.shape)}`);
    const bits = t.shape.reduce((a, d) => a * d, 1) * DTYPES[t.dtype];
    if (bits % 8 !== 0 || t.data.byteLength !== bits / 8) {
      throw new SafetensorsError(`${at}: ${t.dtype} [${t.shape.join(', ')}] needs ${bits / 8} bytes, got ${t.data.byteLength}`);
    }
  }
  // As the Rust `prepare`: descending dtype (alignment), then name (bytewise, as Rust compares strings).
  entries.sort((a, b) => DTYPE_RANK[b.t.dtype] - DTYPE_RANK[a.t.dtype] || compareBytes(a.key, b.key));

  const parts: string[] = [];
  const meta = opts.metadata;
  if (meta !== undefined) {
    const keys = Object.keys(meta).sort();
    for (const k of keys) {
      if (typeof meta[k] !== 'string') throw new SafetensorsError(`${file}: metadata[${JSON.stringify(k)}] must be a string, got ${describe(meta[k])}`);
    }
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(meta[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const { name, t } of entries) {
    const end = offset + t.data.byteLength;
    // Written by hand: a JS object would move integer-like names ("0") to the front.
    parts.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = enc.encode(`{${parts.join(',')}}`);
  const headerLen = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + headerLen);
  let at = 8 + headerLen;
  for (const { t } of entries) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** A safetensors file from Tensors (host or device) and/or stored tensors. */
export async function encodeSafetensors(tensors: Record<string, Tensor | RawTensor>, opts: EncodeOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const raw: Record<string, RawTensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    setOwn(raw, name, t instanceof Tensor ? await tensorToRaw(t, `${opts.name ?? 'safetensors'}: tensor ${JSON.stringify(name)}`) : t);
  }
  return serializeSafetensors(raw, opts);
}

/** Node: writes the file atomically (a temporary name, then a rename). Returns the bytes. */
export async function writeSafetensors(
  path: string, tensors: Record<string, Tensor | RawTensor>, opts: EncodeOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await encodeSafetensors(tensors, { name: path, ...opts });
  await writeFilesAtomic([[path, bytes]]);
  return bytes;
}

// ───────────────────────── helpers ─────────────────────────

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function describe(v: unknown): string {
  const s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? typeof v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** `o[key] = value`, also for a key like `__proto__` that JSON.parse can hand us. */
export function setOwn<T>(o: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
