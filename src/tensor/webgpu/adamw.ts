// TEMPORARY STUB: replaced by the adamw kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function adamw(_ctx: GpuContext, _param: Tensor, _grad: Tensor, _m: Tensor, _v: Tensor, _opts: AdamWOptions): void {
  return notImplemented('adamw');
}
