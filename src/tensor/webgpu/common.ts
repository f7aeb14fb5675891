/** Helpers shared by the webgpu op launchers. */
import type { GpuContext } from '../../gpu/device.js';
import type { Tensor, DType } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { releaseAfterSubmit } from '../../gpu/launch.js';
import { allocGpu, gpuStorage, uploadHost } from './storage.js';

/** The device buffer of a tensor, uploading host tensors (weights given as host tensors, small constants). */
export function buf(ctx: GpuContext, t: Tensor, what: string, dtype: DType | DType[] = 'float32'): GPUBuffer {
  const want = Array.isArray(dtype) ? dtype : [dtype];
  if (t.location !== 'webgpu' && t.location !== 'cpu') throw new Error(`${what}: ${t} must be read back before use on webgpu`);
  const onDevice = t.location === 'webgpu' ? t : uploadHost(ctx, t);
  if (!want.includes(onDevice.dtype)) {
    throw new Error(`${what}: expected ${want.join(' or ')}, got ${t.dtype} ${fmtDims(t.dims)}`);
  }
  const b = gpuStorage(onDevice).buffer;
  // A host input uploaded for one op: its buffer goes back to the pool after submit.
  if (onDevice !== t) releaseAfterSubmit(ctx, b);
  return b;
}

export function out(ctx: GpuContext, dims: readonly number[], dtype: DType = 'float32'): Tensor {
  return allocGpu(ctx, dtype, dims);
}

export function notImplemented(op: string): never {
  throw new Error(`webgpu backend: ${op} is not implemented yet`);
}
