// TEMPORARY STUB: replaced by the layout kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function gather(_ctx: GpuContext, _data: Tensor, _indices: Tensor, _axis: number): Tensor {
  return notImplemented('gather');
}
export function gatherBackward(_ctx: GpuContext, _indices: Tensor, _dy: Tensor, _dataDims: readonly number[], _axis: number): Tensor {
  return notImplemented('gatherBackward');
}
export function transpose(_ctx: GpuContext, _x: Tensor, _perm: readonly number[]): Tensor {
  return notImplemented('transpose');
}
export function concat(_ctx: GpuContext, _xs: readonly Tensor[], _axis: number): Tensor {
  return notImplemented('concat');
}
export function slice(_ctx: GpuContext, _x: Tensor, _starts: readonly number[], _ends: readonly number[], _axes: readonly number[], _steps?: readonly number[]): Tensor {
  return notImplemented('slice');
}
export function sliceBackward(_ctx: GpuContext, _dy: Tensor, _xDims: readonly number[], _starts: readonly number[], _ends: readonly number[], _axes: readonly number[], _steps?: readonly number[]): Tensor {
  return notImplemented('sliceBackward');
}
export function expand(_ctx: GpuContext, _x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('expand');
}
export function reshape(_ctx: GpuContext, _x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('reshape');
}
