/** webgpu launchers: softmax with causal / key-padding masks and its backward (`kernels/softmax*.wgsl`). */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { SoftmaxOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { softmaxGeometry } from '../cpu/softmax.js';
import softmaxSrc from '../../../kernels/softmax.wgsl';
import softmaxBackwardSrc from '../../../kernels/softmax_backward.wgsl';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;
/**
 * Elements each thread walks per row: a 1024-key row gets one warp (32 threads), as llm.c's
 * softmax; rows of ≥ 8192 get the whole workgroup. Several loads in flight per thread on
 * GPUs, and ~4× less CPU time on SwiftShader than one thread per element or two (measured
 * with process.cpuUsage on 2048 × 1024: 2.7 s → 0.55 s), which pays per invocation.
 */
export const ELEMS_PER_THREAD = 32;

/** Threads per row: a power of 2 giving ~ELEMS_PER_THREAD elements each, at most one workgroup. */
export function threadsPerRow(t: number): number {
  return Math.min(WG, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(t / ELEMS_PER_THREAD)))));
}

export function softmax(ctx: GpuContext, x: Tensor, opts: SoftmaxOptions = {}): Tensor {
  const g = softmaxGeometry(x, opts, 'softmax');
  const xb = buf(ctx, x, 'softmax x');
  const km = opts.keyMask;
  // int64 masks arrive as int32 (upload narrows them); bool is one u32 per element.
  const mb = km ? buf(ctx, km, 'softmax keyMask', ['bool', 'int32', 'float32']) : xb;
  const y = out(ctx, x.dims);
  if (g.rows === 0) return y;
  const tpr = threadsPerRow(g.t);
  launch(ctx, {
    kernel: { name: 'softmax', code: softmaxSrc },
    constants: { WG, TPR: tpr, CAUSAL: g.causal ? 1 : 0, MASK: !km ? 0 : km.dtype === 'float32' ? 2 : 1 },
    buffers: [xb, mb, gpuStorage(y).buffer],
    uniforms: [g.rows, g.t, g.tq, g.rowsPerB],
    workgroups: Math.ceil(g.rows / (WG / tpr)),
  });
  return y;
}

export function softmaxBackward(ctx: GpuContext, y: Tensor, dy: Tensor): Tensor {
  if (!sameDims(y.dims, dy.dims)) throw new Error(`softmaxBackward: dy ${fmtDims(dy.dims)} must match y ${fmtDims(y.dims)}`);
  if (y.rank === 0) throw new Error('softmaxBackward: y must have at least one axis, got a scalar');
  const yb = buf(ctx, y, 'softmaxBackward y');
  const dyb = buf(ctx, dy, 'softmaxBackward dy');
  const dx = out(ctx, y.dims);
  const t = y.dims[y.rank - 1];
  const rows = t === 0 ? 0 : y.size / t;
  if (rows === 0) return dx;
  const tpr = threadsPerRow(t);
  launch(ctx, {
    kernel: { name: 'softmax_backward', code: softmaxBackwardSrc },
    constants: { WG, TPR: tpr },
    buffers: [yb, dyb, gpuStorage(dx).buffer],
    uniforms: [rows, t],
    workgroups: Math.ceil(rows / (WG / tpr)),
  });
  return dx;
}
