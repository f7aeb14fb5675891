/**
 * webgpu launchers: gather (`kernels/gather.wgsl`) and its deterministic backward
 * (`kernels/gather_backward.wgsl`). Host indices — the usual case, input_ids — are
 * wrapped and range-checked on the host (a clear error, as on cpu) and, for the
 * backward, grouped into CSR there; device indices go to the kernels unchecked.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import { fmtDims } from '../shape.js';
import { checkDims, Tensor } from '../tensor.js';
import { i32 } from '../cpu/common.js';
import { checkGatherDy } from '../cpu/gather.js';
import { gatherCsr, gatherGeometry, wrapIndices, type GatherGeometry } from '../cpu/layoutPlan.js';
import gatherSrc from '../../../kernels/gather.wgsl';
import gatherBackwardSrc from '../../../kernels/gather_backward.wgsl';
import { buf, out } from './common.js';
import { checkBindable, deviceInput, elementsPerWord } from './copyStrided.js';
import { fillZero } from './elementwise.js';
import { gpuStorage } from './storage.js';

const WG = 256;

/** Host indices wrapped into [0, len) (throwing on a bad one) and uploaded; device int32 indices as they are. */
function indexBuffer(ctx: GpuContext, indices: Tensor, g: GatherGeometry, dataDims: readonly number[], what: string): GPUBuffer {
  if (indices.location !== 'cpu') return buf(ctx, indices, `${what} indices`, 'int32');
  const rows = wrapIndices(i32(indices, `${what} indices`), g.len, what, dataDims, g.axis);
  return buf(ctx, new Tensor('int32', rows, [rows.length]), `${what} indices`, 'int32');
}

/** out = data indexed along `axis` by int32 indices; any device dtype (packed ones word by word). */
export function gather(ctx: GpuContext, data: Tensor, indices: Tensor, axis: number): Tensor {
  const g = gatherGeometry(data.dims, indices.dims, axis, 'gather');
  const ib = indexBuffer(ctx, indices, g, data.dims, 'gather');
  const { buffer, dtype } = deviceInput(ctx, data, 'gather data');
  const y = out(ctx, g.outDims, dtype);
  const n = y.size;
  if (n === 0) return y;
  const epw = elementsPerWord(dtype);
  const words = Math.ceil(n / epw);
  launch(ctx, {
    kernel: { name: 'gather', code: gatherSrc },
    constants: { EPW: epw, WG },
    buffers: [buffer, ib, gpuStorage(y).buffer],
    uniforms: [n, words, g.inner, indices.size, g.len],
    workgroups: Math.ceil(words / WG),
  });
  return y;
}

/** dx (dataDims) = scatter-add of dy (gather's output shape); deterministic, no float atomics. */
export function gatherBackward(ctx: GpuContext, indices: Tensor, dy: Tensor, dataDims: readonly number[], axis: number): Tensor {
  checkDims(dataDims, 'gatherBackward dataDims');
  const g = gatherGeometry(dataDims, indices.dims, axis, 'gatherBackward');
  checkGatherDy(g.outDims, dy.dims, indices.dims, dataDims);
  const m = indices.size;
  const dyb = buf(ctx, dy, 'gatherBackward dy');
  const dx = out(ctx, dataDims);
  checkBindable(ctx, gpuStorage(dx).buffer, 'gatherBackward dx', dx);
  if (dx.size === 0) return dx;
  const kernel = { name: 'gather_backward', code: gatherBackwardSrc };
  if (indices.location === 'cpu') {
    const rows = wrapIndices(i32(indices, 'gatherBackward indices'), g.len, 'gatherBackward', dataDims, g.axis);
    const { csr, distinct } = gatherCsr(rows, g.len);
    const cb = buf(ctx, new Tensor('int32', csr, [csr.length]), 'gatherBackward csr', 'int32');
    launch(ctx, {
      kernel,
      constants: { WG },
      buffers: [dyb, cb, gpuStorage(dx).buffer],
      uniforms: [dx.size, g.inner, m, g.len, g.len, g.len + distinct + 1],
      workgroups: Math.ceil(dx.size / WG),
    });
    return dx;
  }
  // Device indices: a synchronous op cannot read them back to build the CSR, so the
  // `scan` entry walks them per column into zeros (see the kernel header).
  if (indices.dtype !== 'int32') throw new Error(`gatherBackward: indices must be int32, got ${indices.dtype} ${fmtDims(indices.dims)}`);
  fillZero(ctx, dx);
  if (m === 0) return dx;
  const cols = g.outer * g.inner;
  launch(ctx, {
    kernel: { ...kernel, entryPoint: 'scan' },
    constants: { WG },
    buffers: [dyb, buf(ctx, indices, 'gatherBackward indices', 'int32'), gpuStorage(dx).buffer],
    uniforms: [cols, g.inner, m, g.len, 0, 0],
    workgroups: Math.ceil(cols / WG),
  });
  return dx;
}
