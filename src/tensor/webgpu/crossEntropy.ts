/**
 * webgpu launchers: cross-entropy (mean over rows whose label is not ignoreIndex) and its
 * backward. Forward: a fused log-softmax + NLL per row (`kernels/cross_entropy.wgsl`), then
 * one workgroup takes the mean over kept rows (`kernels/cross_entropy_mean.wgsl`): no
 * atomics, deterministic. Labels outside [0, V) cannot raise on the device; they are treated
 * as ignored rows (the cpu reference throws on them).
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { ceGeometry, DEFAULT_IGNORE_INDEX } from '../cpu/crossEntropy.js';
import crossEntropySrc from '../../../kernels/cross_entropy.wgsl';
import crossEntropyMeanSrc from '../../../kernels/cross_entropy_mean.wgsl';
import crossEntropyBackwardSrc from '../../../kernels/cross_entropy_backward.wgsl';
import { buf, out } from './common.js';
import { threadsPerRow } from './softmax.js';
import { gpuStorage } from './storage.js';

const WG = 256;

/** out[0] = Σ src / kept (forward) or src[0] / kept (backward); 0 when nothing is kept. */
function meanOverKept(ctx: GpuContext, src: GPUBuffer, labels: GPUBuffer, rows: number, v: number, ignoreIndex: number, backward: boolean): Tensor {
  const y = out(ctx, [1]);
  launch(ctx, {
    kernel: { name: 'cross_entropy_mean', code: crossEntropyMeanSrc },
    constants: { WG, BACKWARD: backward ? 1 : 0 },
    buffers: [src, labels, gpuStorage(y).buffer],
    uniforms: [rows, v, { i32: ignoreIndex }],
    workgroups: 1,
  });
  return y;
}

function checkIgnore(ignoreIndex: number, what: string): void {
  if (!Number.isInteger(ignoreIndex) || ignoreIndex < -(2 ** 31) || ignoreIndex >= 2 ** 31) {
    throw new Error(`${what}: ignoreIndex ${ignoreIndex} must be an int32`);
  }
}

export function crossEntropy(ctx: GpuContext, logits: Tensor, labels: Tensor, ignoreIndex = DEFAULT_IGNORE_INDEX): Tensor {
  const { rows, v } = ceGeometry(logits, labels, 'crossEntropy');
  checkIgnore(ignoreIndex, 'crossEntropy');
  const xb = buf(ctx, logits, 'crossEntropy logits');
  const lb = buf(ctx, labels, 'crossEntropy labels', 'int32');
  const losses = out(ctx, [rows]);
  const tpr = threadsPerRow(v);
  if (rows > 0) {
    launch(ctx, {
      kernel: { name: 'cross_entropy', code: crossEntropySrc },
      constants: { WG, TPR: tpr },
      buffers: [xb, lb, gpuStorage(losses).buffer],
      uniforms: [rows, v, { i32: ignoreIndex }],
      workgroups: Math.ceil(rows / (WG / tpr)),
    });
  }
  const loss = meanOverKept(ctx, gpuStorage(losses).buffer, lb, rows, v, ignoreIndex, false);
  losses.dispose(); // recorded passes keep their order; the pool may reuse it at once
  return loss;
}

export function crossEntropyBackward(ctx: GpuContext, logits: Tensor, labels: Tensor, dLoss: Tensor, ignoreIndex = DEFAULT_IGNORE_INDEX): Tensor {
  const { rows, v } = ceGeometry(logits, labels, 'crossEntropyBackward');
  checkIgnore(ignoreIndex, 'crossEntropyBackward');
  if (dLoss.size !== 1) throw new Error(`crossEntropyBackward: dLoss must be a (1) tensor, got ${fmtDims(dLoss.dims)}`);
  const xb = buf(ctx, logits, 'crossEntropyBackward logits');
  const lb = buf(ctx, labels, 'crossEntropyBackward labels', 'int32');
  const gb = buf(ctx, dLoss, 'crossEntropyBackward dLoss');
  const dx = out(ctx, logits.dims);
  if (rows === 0) return dx;
  const scale = meanOverKept(ctx, gb, lb, rows, v, ignoreIndex, true); // dLoss / kept, on the device
  const tpr = threadsPerRow(v);
  launch(ctx, {
    kernel: { name: 'cross_entropy_backward', code: crossEntropyBackwardSrc },
    constants: { WG, TPR: tpr },
    buffers: [xb, lb, gpuStorage(scale).buffer, gpuStorage(dx).buffer],
    uniforms: [rows, v, { i32: ignoreIndex }],
    workgroups: Math.ceil(rows / (WG / tpr)),
  });
  scale.dispose();
  return dx;
}
