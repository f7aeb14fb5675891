/** Helpers shared by the cpu op files. */
import { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';

/** The host copy of a tensor; device tensors must be read with `await data()` first. */
export function toHost(t: Tensor): Tensor {
  if (t.location === 'cpu') return t;
  throw new Error(
    `${t}: the cpu backend got a ${t.location} tensor; read it with await t.data() and build a host Tensor`,
  );
}

/** Float32 host values of a float tensor, with a clear error for other dtypes. */
export function f32(t: Tensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`${what}: expected float32, got ${t.dtype} ${fmtDims(t.dims)}`);
  return toHost(t).hostData<Float32Array>();
}

export function i32(t: Tensor, what: string): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`${what}: expected int32 indices, got ${t.dtype} ${fmtDims(t.dims)}`);
  return toHost(t).hostData<Int32Array>();
}

export function f32Tensor(data: Float32Array, dims: readonly number[]): Tensor {
  return new Tensor('float32', data, dims);
}

export function notImplemented(backend: string, op: string): never {
  throw new Error(`${backend} backend: ${op} is not implemented yet`);
}
