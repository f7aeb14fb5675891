/** webgpu launcher: in-place AdamW (`kernels/adamw.wgsl`); semantics in src/tensor/cpu/adamw.ts. */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import adamwSrc from '../../../kernels/adamw.wgsl';
import { adamwScalars, checkAdamw } from '../cpu/adamw.js';
import { buf } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;

/** The buffer of a tensor updated in place: it must already live on this device. */
function inPlace(t: Tensor, name: string): GPUBuffer {
  if (t.location !== 'webgpu') throw new Error(`adamw: ${name} ${t} is updated in place and must be a webgpu tensor; upload it once`);
  return gpuStorage(t).buffer;
}

export function adamw(ctx: GpuContext, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
  checkAdamw(param, grad, m, v);
  const s = adamwScalars(opts);
  const n = param.size;
  if (n === 0) return;
  launch(ctx, {
    kernel: { name: 'adamw', code: adamwSrc },
    constants: { WG },
    buffers: [inPlace(param, 'param'), buf(ctx, grad, 'adamw grad'), inPlace(m, 'm'), inPlace(v, 'v')],
    // Everything that changes between steps is a uniform: no pipeline per lr or step.
    uniforms: [n, { f32: opts.beta1 }, { f32: 1 - opts.beta1 }, { f32: opts.beta2 }, { f32: 1 - opts.beta2 },
      { f32: opts.eps }, { f32: s.decay }, { f32: s.stepSize }, { f32: s.bc2Sqrt }],
    workgroups: Math.ceil(n / WG),
  });
}
