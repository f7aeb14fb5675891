// TEMPORARY STUB: replaced by the norm kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function layerNorm(_ctx: GpuContext, _x: Tensor, _gamma: Tensor, _beta: Tensor | undefined, _eps: number, _residual?: Tensor): NormResult {
  return notImplemented('layerNorm');
}
export function layerNormBackward(_ctx: GpuContext, _x: Tensor, _gamma: Tensor, _mean: Tensor, _invStd: Tensor, _dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  return notImplemented('layerNormBackward');
}
export function rmsNorm(_ctx: GpuContext, _x: Tensor, _gamma: Tensor, _eps: number, _residual?: Tensor): NormResult {
  return notImplemented('rmsNorm');
}
export function rmsNormBackward(_ctx: GpuContext, _x: Tensor, _gamma: Tensor, _invStd: Tensor, _dy: Tensor): { dx: Tensor; dGamma: Tensor } {
  return notImplemented('rmsNormBackward');
}
