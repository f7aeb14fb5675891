// TEMPORARY STUB: replaced by the reduce kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function reduce(_ctx: GpuContext, _op: ReduceOp, _x: Tensor, _axes: readonly number[], _keepDims: boolean): Tensor {
  return notImplemented('reduce');
}
export function reduceBackward(_ctx: GpuContext, _op: ReduceOp, _x: Tensor, _axes: readonly number[], _keepDims: boolean, _dy: Tensor): Tensor {
  return notImplemented('reduceBackward');
}
export function softmax(_ctx: GpuContext, _x: Tensor, _opts?: SoftmaxOptions): Tensor {
  return notImplemented('softmax');
}
export function softmaxBackward(_ctx: GpuContext, _y: Tensor, _dy: Tensor): Tensor {
  return notImplemented('softmaxBackward');
}
export function crossEntropy(_ctx: GpuContext, _logits: Tensor, _labels: Tensor, _ignoreIndex?: number): Tensor {
  return notImplemented('crossEntropy');
}
export function crossEntropyBackward(_ctx: GpuContext, _logits: Tensor, _labels: Tensor, _dLoss: Tensor, _ignoreIndex?: number): Tensor {
  return notImplemented('crossEntropyBackward');
}
