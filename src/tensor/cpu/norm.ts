// TEMPORARY STUB: replaced by the norm kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { notImplemented } from './common.js';

export function layerNorm(_x: Tensor, _gamma: Tensor, _beta: Tensor | undefined, _eps: number, _residual?: Tensor): NormResult {
  return notImplemented('cpu', 'layerNorm');
}
export function layerNormBackward(_x: Tensor, _gamma: Tensor, _mean: Tensor, _invStd: Tensor, _dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  return notImplemented('cpu', 'layerNormBackward');
}
export function rmsNorm(_x: Tensor, _gamma: Tensor, _eps: number, _residual?: Tensor): NormResult {
  return notImplemented('cpu', 'rmsNorm');
}
export function rmsNormBackward(_x: Tensor, _gamma: Tensor, _invStd: Tensor, _dy: Tensor): { dx: Tensor; dGamma: Tensor } {
  return notImplemented('cpu', 'rmsNormBackward');
}
