// TEMPORARY STUB: replaced by the matmul kernel work; every function throws.
/* eslint-disable */
import type { MatmulOptions, LoraOptions, LoraGrads, ReduceOp, SoftmaxOptions, NormResult, AdamWOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function matmul(_ctx: GpuContext, _a: Tensor, _b: Tensor, _opts?: MatmulOptions): Tensor {
  return notImplemented('matmul');
}
