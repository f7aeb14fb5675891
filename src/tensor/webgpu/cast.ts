/** webgpu launcher: cast between float32, float16, int32 and bool (`kernels/cast.wgsl`). */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { DType, Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import castSrc from '../../../kernels/cast.wgsl';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;

/** FROM / TO codes of kernels/cast.wgsl. */
export const CAST_CODES: Partial<Record<DType, number>> = { float32: 0, float16: 1, int32: 2, bool: 3 };

export function cast(ctx: GpuContext, x: Tensor, to: DType): Tensor {
  // A host int64 tensor arrives as int32 (upload narrows it, with a range check).
  const from: DType = x.dtype === 'int64' && x.location === 'cpu' ? 'int32' : x.dtype;
  if (CAST_CODES[from] === undefined || CAST_CODES[to] === undefined) {
    const hint = to === 'int64' ? ' (int64 lives on the device as int32: cast to int32)' : '';
    throw new Error(`cast: ${x.dtype} ${fmtDims(x.dims)} → ${to} is not supported on webgpu (float32, float16, int32, bool)${hint}`);
  }
  const xb = buf(ctx, x, `cast → ${to}`, from);
  const y = out(ctx, x.dims, to);
  const n = x.size;
  if (n === 0) return y;
  const words = to === 'float16' ? Math.ceil(n / 2) : n;
  launch(ctx, {
    kernel: { name: 'cast', code: castSrc },
    constants: { FROM: CAST_CODES[from]!, TO: CAST_CODES[to]!, WG },
    buffers: [xb, gpuStorage(y).buffer],
    uniforms: [n, words],
    workgroups: Math.ceil(words / WG),
  });
  return y;
}
