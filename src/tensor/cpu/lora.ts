// TEMPORARY STUB: replaced by the lora kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { notImplemented } from './common.js';

export function loraMatmul(_x: Tensor, _w: Tensor, _a: Tensor, _b: Tensor, _opts: LoraOptions): Tensor {
  return notImplemented('cpu', 'loraMatmul');
}
export function loraMatmulBackward(_x: Tensor, _w: Tensor, _a: Tensor, _b: Tensor, _dy: Tensor, _opts: LoraOptions): LoraGrads {
  return notImplemented('cpu', 'loraMatmulBackward');
}
