/**
 * `Tensor`: a dtype, dims and a storage that lives on the host or on a backend's device.
 * The constructor mirrors onnxruntime-web's `new Tensor(type, data, dims)`.
 */
export type DType = 'float32' | 'float16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'int4' | 'bool';

/** Host representation per dtype: float16 as raw IEEE half bits, int4 packed two per byte (low nibble first, as ONNX). */
export type HostData = Float32Array | Uint16Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

export type Location = 'cpu' | 'webgpu' | 'gpujs';

export interface Storage {
  readonly location: Location;
  /** Copies the values to the host in the dtype's host representation. */
  read(): Promise<HostData>;
  dispose(): void;
}

export class HostStorage implements Storage {
  readonly location = 'cpu' as const;
  constructor(public readonly data: HostData) {}
  async read(): Promise<HostData> {
    return this.data;
  }
  dispose(): void {}
}

const HOST_ARRAY: Record<DType, new (n: number) => HostData> = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int4: Uint8Array,
  bool: Uint8Array,
};

/** Elements of host storage needed for `n` values (int4 packs two per byte). */
export function hostLength(dtype: DType, n: number): number {
  return dtype === 'int4' ? Math.ceil(n / 2) : n;
}

export function allocHost(dtype: DType, n: number): HostData {
  return new HOST_ARRAY[dtype](hostLength(dtype, n));
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function checkDims(dims: readonly number[], what = 'dims'): void {
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${what} [${dims.join(', ')}]: every dimension must be an integer ≥ 0`);
  }
}

export class Tensor {
  readonly dims: readonly number[];
  private storage: Storage;
  private disposed = false;

  /** A host tensor. `data` may be a typed array of the dtype's host type or a plain array. */
  constructor(readonly dtype: DType, data: HostData | readonly number[] | readonly bigint[], dims?: readonly number[]) {
    const host = toHostData(dtype, data);
    const shape = dims ?? [host.length];
    checkDims(shape);
    const want = hostLength(dtype, sizeOf(shape));
    if (host.length !== want) {
      throw new Error(`Tensor(${dtype}, dims [${shape.join(', ')}]): expected ${want} host elements, got ${host.length}`);
    }
    this.dims = Object.freeze([...shape]);
    this.storage = new HostStorage(host);
  }

  /** Wraps an existing storage (used by backends for device tensors). */
  static fromStorage(dtype: DType, dims: readonly number[], storage: Storage): Tensor {
    const t = Object.create(Tensor.prototype) as Tensor;
    checkDims(dims);
    Object.assign(t, { dtype, dims: Object.freeze([...dims]), storage, disposed: false });
    return t;
  }

  static zeros(dtype: DType, dims: readonly number[]): Tensor {
    return new Tensor(dtype, allocHost(dtype, sizeOf(dims)), dims);
  }

  get size(): number {
    return sizeOf(this.dims);
  }

  get rank(): number {
    return this.dims.length;
  }

  get location(): Location {
    return this.storage.location;
  }

  /** The backend-specific storage; backends downcast it. */
  get raw(): Storage {
    this.assertLive();
    return this.storage;
  }

  /** Host data without a copy; throws if the tensor lives on a device. */
  hostData<T extends HostData = HostData>(): T {
    this.assertLive();
    if (!(this.storage instanceof HostStorage)) {
      throw new Error(`tensor [${this.dims.join(', ')}] ${this.dtype} lives on ${this.location}; await data() to read it`);
    }
    return this.storage.data as T;
  }

  /** Values on the host, in the dtype's host representation (a copy for device tensors). */
  async data<T extends HostData = HostData>(): Promise<T> {
    this.assertLive();
    return (await this.storage.read()) as T;
  }

  /** Values as plain numbers (float16 decoded, int4 unpacked, int64 as numbers). */
  async toArray(): Promise<number[]> {
    return hostToNumbers(this.dtype, await this.data(), this.size);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  toString(): string {
    return `Tensor(${this.dtype}, [${this.dims.join(', ')}], ${this.location})`;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`tensor [${this.dims.join(', ')}] ${this.dtype} was disposed`);
  }
}

function toHostData(dtype: DType, data: HostData | readonly number[] | readonly bigint[]): HostData {
  const Ctor = HOST_ARRAY[dtype];
  if (ArrayBuffer.isView(data)) {
    if (!(data instanceof Ctor)) {
      throw new Error(`Tensor(${dtype}): expected ${Ctor.name}, got ${(data as object).constructor.name}`);
    }
    return data;
  }
  const arr = data as readonly (number | bigint)[];
  if (dtype === 'int64') return BigInt64Array.from(arr, (v) => BigInt(v));
  if (dtype === 'float16') return Uint16Array.from(arr as number[], (v) => f32ToF16Bits(v));
  if (dtype === 'int4') return packInt4(arr as number[]);
  return (Ctor as unknown as { from(a: ArrayLike<number>): HostData }).from(arr as number[]);
}

export function hostToNumbers(dtype: DType, data: HostData, n: number): number[] {
  if (dtype === 'float16') return Array.from(data as Uint16Array, f16BitsToF32);
  if (dtype === 'int64') return Array.from(data as BigInt64Array, (v) => Number(v));
  if (dtype === 'int4') return unpackInt4(data as Uint8Array, n, true);
  return Array.from(data as ArrayLike<number>);
}

/** Packs signed 4-bit values, two per byte, low nibble first. */
export function packInt4(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 2));
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < -8 || v > 15) throw new Error(`int4 value ${v} at ${i} is outside [-8, 15]`);
    out[i >> 1] |= (v & 0xf) << ((i & 1) * 4);
  });
  return out;
}

export function unpackInt4(packed: Uint8Array, n: number, signed: boolean): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const nib = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
    out[i] = signed && nib > 7 ? nib - 16 : nib;
  }
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE float32 → float16 bits, round to nearest even. */
export function f32ToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && r & 1)) r++;
    return sign | r;
  }
  let r = mant >> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && r & 1)) {
    r++;
    if (r === 0x400) {
      r = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | r;
}

export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
