// TEMPORARY STUB: replaced by the reduce kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { notImplemented } from './common.js';

export function reduce(_op: ReduceOp, _x: Tensor, _axes: readonly number[], _keepDims: boolean): Tensor {
  return notImplemented('cpu', 'reduce');
}
export function reduceBackward(_op: ReduceOp, _x: Tensor, _axes: readonly number[], _keepDims: boolean, _dy: Tensor): Tensor {
  return notImplemented('cpu', 'reduceBackward');
}
export function softmax(_x: Tensor, _opts?: SoftmaxOptions): Tensor {
  return notImplemented('cpu', 'softmax');
}
export function softmaxBackward(_y: Tensor, _dy: Tensor): Tensor {
  return notImplemented('cpu', 'softmaxBackward');
}
export function crossEntropy(_logits: Tensor, _labels: Tensor, _ignoreIndex?: number): Tensor {
  return notImplemented('cpu', 'crossEntropy');
}
export function crossEntropyBackward(_logits: Tensor, _labels: Tensor, _dLoss: Tensor, _ignoreIndex?: number): Tensor {
  return notImplemented('cpu', 'crossEntropyBackward');
}
