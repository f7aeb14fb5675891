/** webgpu launcher: ONNX CumSum (`kernels/cumsum.wgsl`), float32 or int32 (host int64 arrives narrowed to int32). */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Tensor } from '../tensor.js';
import cumsumSrc from '../../../kernels/cumsum.wgsl';
import { cumsumGeometry } from '../cpu/cumsum.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;
/** `rows` workgroup: 64 threads × 8 items (kernels/cumsum.wgsl ITEMS) = 512 elements per chunk. */
const ROW_WG = 64;
/** Lines at least this long, when contiguous, get a workgroup each (`rows`) rather than a thread. */
const ROW_SCAN_MIN = 32;

export function cumsum(ctx: GpuContext, x: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor {
  const { outer, len, inner } = cumsumGeometry(x, axis);
  const xb = buf(ctx, x, 'cumsum x', ['float32', 'int32']);
  const dtype = x.dtype === 'float32' ? 'float32' : 'int32';
  const y = out(ctx, x.dims, dtype);
  const lines = outer * inner;
  if (x.size === 0) return y;
  const rows = inner === 1 && len >= ROW_SCAN_MIN;
  launch(ctx, {
    kernel: { name: 'cumsum', code: cumsumSrc, entryPoint: rows ? 'rows' : 'lines' },
    constants: { DT: dtype === 'int32' ? 1 : 0, EXCLUSIVE: exclusive ? 1 : 0, REVERSE: reverse ? 1 : 0, WG: rows ? ROW_WG : WG },
    buffers: [xb, gpuStorage(y).buffer],
    uniforms: [lines, len, inner],
    workgroups: rows ? lines : Math.ceil(lines / WG),
  });
  return y;
}
