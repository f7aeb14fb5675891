// TEMPORARY STUB: replaced by the layout kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { notImplemented } from './common.js';

export function gather(_data: Tensor, _indices: Tensor, _axis: number): Tensor {
  return notImplemented('cpu', 'gather');
}
export function gatherBackward(_indices: Tensor, _dy: Tensor, _dataDims: readonly number[], _axis: number): Tensor {
  return notImplemented('cpu', 'gatherBackward');
}
export function transpose(_x: Tensor, _perm: readonly number[]): Tensor {
  return notImplemented('cpu', 'transpose');
}
export function concat(_xs: readonly Tensor[], _axis: number): Tensor {
  return notImplemented('cpu', 'concat');
}
export function slice(_x: Tensor, _starts: readonly number[], _ends: readonly number[], _axes: readonly number[], _steps?: readonly number[]): Tensor {
  return notImplemented('cpu', 'slice');
}
export function sliceBackward(_dy: Tensor, _xDims: readonly number[], _starts: readonly number[], _ends: readonly number[], _axes: readonly number[], _steps?: readonly number[]): Tensor {
  return notImplemented('cpu', 'sliceBackward');
}
export function expand(_x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('cpu', 'expand');
}
export function reshape(_x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('cpu', 'reshape');
}
