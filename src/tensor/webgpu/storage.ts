/**
 * Device storage for the webgpu backend. Layout per dtype: float32 / int32 as 4-byte
 * words; bool as one u32 per element (0 or 1) so kernels index it directly; float16 as
 * packed halves (two per u32); int8 / uint8 packed four per u32; int4 eight per u32.
 * int64 never lives on the device: `upload` narrows it to int32 with a range check.
 */
import type { GpuContext } from '../../gpu/device.js';
import { readBuffer, writeBuffer } from '../../gpu/launch.js';
import { allocHost, hostLength, Tensor, type DType, type HostData, type Storage } from '../tensor.js';
import { fmtDims } from '../shape.js';

export function deviceBytes(dtype: DType, n: number): number {
  switch (dtype) {
    case 'float32':
    case 'int32':
    case 'bool':
      return 4 * n;
    case 'float16':
      return 2 * n;
    case 'int8':
    case 'uint8':
      return n;
    case 'int4':
      return Math.ceil(n / 2);
    case 'int64':
      throw new Error('int64 tensors are kept on the host; upload narrows them to int32');
  }
}

export class GpuStorage implements Storage {
  readonly location = 'webgpu' as const;
  private released = false;
  /** Live storages on this buffer (views made by `view()` share the count). */
  private readonly owners: { count: number };

  constructor(
    readonly ctx: GpuContext,
    readonly buffer: GPUBuffer,
    readonly dtype: DType,
    readonly n: number,
    viewOf?: GpuStorage,
  ) {
    this.owners = viewOf ? viewOf.owners : { count: 0 };
    this.owners.count++;
  }

  /**
   * Another storage on the same buffer, no copy (reshape: same bytes, new dims). The
   * buffer goes back to the pool when the last of the views is disposed, so disposing
   * the original does not free it under the view. Writes through one are seen by all.
   */
  view(): GpuStorage {
    if (this.released) throw new Error(`view of a disposed ${this.dtype} GPU buffer`);
    return new GpuStorage(this.ctx, this.buffer, this.dtype, this.n, this);
  }

  async read(): Promise<HostData> {
    const bytes = deviceBytes(this.dtype, this.n);
    const raw = bytes === 0 ? new ArrayBuffer(0) : await readBuffer(this.ctx, this.buffer, bytes);
    if (this.dtype === 'bool') return Uint8Array.from(new Uint32Array(raw));
    const out = allocHost(this.dtype, this.n);
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(new Uint8Array(raw, 0, out.byteLength));
    return out;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    if (--this.owners.count === 0) this.ctx.pool.release(this.buffer);
  }
}

/** A new device tensor with undefined contents. */
export function allocGpu(ctx: GpuContext, dtype: DType, dims: readonly number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const buf = ctx.pool.acquire(Math.max(4, deviceBytes(dtype, n)));
  return Tensor.fromStorage(dtype, dims, new GpuStorage(ctx, buf, dtype, n));
}

/** Copies a host tensor to the device (int64 → int32, bool → u32 per element). */
export function uploadHost(ctx: GpuContext, t: Tensor): Tensor {
  let dtype = t.dtype;
  let data: HostData = t.hostData();
  if (dtype === 'int64') {
    data = narrowInt64(data as BigInt64Array, t);
    dtype = 'int32';
  } else if (dtype === 'bool') {
    data = Uint32Array.from(data as Uint8Array) as unknown as HostData;
  }
  const out = allocGpu(ctx, dtype, t.dims);
  if (data.byteLength > 0) writeBuffer(ctx, gpuStorage(out).buffer, data);
  return out;
}

function narrowInt64(v: BigInt64Array, t: Tensor): Int32Array {
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x > 2147483647n || x < -2147483648n) {
      throw new Error(`int64 tensor ${fmtDims(t.dims)}: value ${x} at ${i} does not fit int32 on the device`);
    }
    out[i] = Number(x);
  }
  return out;
}

export function gpuStorage(t: Tensor): GpuStorage {
  const s = t.raw;
  if (!(s instanceof GpuStorage)) throw new Error(`${t} is not a webgpu tensor`);
  return s;
}

/** Host length check kept here so it stays next to `deviceBytes`. */
export const hostElements = hostLength;
