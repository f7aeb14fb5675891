// TEMPORARY STUB: replaced by the quant/indexing kernel work; every function throws.
import type { Tensor } from '../tensor.js';
import type { GpuContext } from '../../gpu/device.js';
import { notImplemented } from './common.js';

export function cumsum(_ctx: GpuContext, _x: Tensor, _axis: number, _exclusive: boolean, _reverse: boolean): Tensor {
  return notImplemented('cumsum');
}
export function scatterND(_ctx: GpuContext, _data: Tensor, _indices: Tensor, _updates: Tensor, _reduction?: 'none' | 'add'): Tensor {
  return notImplemented('scatterND');
}
export function dequantize(_ctx: GpuContext, _x: Tensor, _scale: Tensor, _zeroPoint: Tensor | undefined, _axis: number, _blockSize?: number): Tensor {
  return notImplemented('dequantize');
}
export function dequantizeBlockwise(_ctx: GpuContext, _b: Tensor, _scales: Tensor, _zeroPoints: Tensor | undefined, _n: number, _k: number, _bits: number, _blockSize: number): Tensor {
  return notImplemented('dequantizeBlockwise');
}
