/**
 * webgpu launcher: ONNX ScatterND, reductions 'none' and 'add' (`kernels/scatter_nd.wgsl`).
 * Duplicates are deterministic: 'none' keeps the last update aimed at a slice (an integer
 * atomicMax over update numbers), 'add' sums them in update order (no float atomics).
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Tensor } from '../tensor.js';
import scatterSrc from '../../../kernels/scatter_nd.wgsl';
import { indexValues, scatterGeometry, slotOf } from '../cpu/scatterND.js';
import { fillZero } from './elementwise.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;
/** Index depth the kernel's uniforms have room for. */
const MAX_K = 8;

export function scatterND(ctx: GpuContext, data: Tensor, indices: Tensor, updates: Tensor, reduction: 'none' | 'add' = 'none'): Tensor {
  const g = scatterGeometry(data, indices, updates, reduction);
  if (g.k > MAX_K) throw new Error(`scatterND: index depth k = ${g.k} exceeds the kernel's ${MAX_K}`);
  // Host indices are checked here so a bad index throws as on cpu; device ones are dropped by the kernel.
  if (indices.location === 'cpu') {
    const idx = indexValues(indices);
    for (let m = 0; m < g.m; m++) slotOf(g, idx, m);
  }
  const ib = buf(ctx, indices, 'scatterND indices', 'int32');
  const db = buf(ctx, data, 'scatterND data', data.dtype);
  const ub = buf(ctx, updates, 'scatterND updates', data.dtype);
  const y = out(ctx, data.dims, data.dtype);
  const n = data.size;
  if (n === 0) return y;
  const slots = g.dims.reduce((p, d) => p * d, 1);
  // 'add' never touches owner, but `main` binds it: a one-word stand-in.
  const owner = out(ctx, [reduction === 'none' ? slots : 1], 'int32');
  const ax: number[] = [];
  for (let j = 0; j < MAX_K; j++) ax.push(g.dims[j] ?? 1, g.strides[j] ?? 0, 0, 0);
  const uniforms = [n, g.m, g.k, g.slice, ...ax];
  const constants = { MODE: reduction === 'none' ? 0 : 1, DT: data.dtype === 'int32' ? 1 : 0, WG };
  const ob = gpuStorage(owner).buffer;
  if (reduction === 'none') fillZero(ctx, owner);
  if (reduction === 'none' && g.m > 0) {
    launch(ctx, {
      kernel: { name: 'scatter_nd', code: scatterSrc, entryPoint: 'owners' },
      constants, buffers: [ib, ob], uniforms, workgroups: Math.ceil(g.m / WG),
    });
  }
  launch(ctx, {
    kernel: { name: 'scatter_nd', code: scatterSrc },
    constants, buffers: [ib, ob, db, ub, gpuStorage(y).buffer], uniforms, workgroups: Math.ceil(n / WG),
  });
  owner.dispose(); // recorded passes keep their order; the pool may reuse it at once
  return y;
}
