/**
 * The `webgpu` backend: one WGSL file per kernel in `kernels/`, a small launcher per
 * op family beside this file. Ops record dispatches; `sync()` or a readback submits.
 */
import { getDevice, type GpuContext } from '../../gpu/device.js';
import { sync } from '../../gpu/launch.js';
import type { AdamWOptions, Backend, BinaryOp, DropoutSpec, LoraOptions, MatmulOptions, ReduceOp, SoftmaxOptions, UnaryOp } from '../backend.js';
import { Tensor, type DType } from '../tensor.js';
import * as elementwise from './elementwise.js';
import * as layout from './layout.js';
import * as lora from './lora.js';
import * as matmul from './matmul.js';
import * as norm from './norm.js';
import * as optim from './adamw.js';
import * as reduce from './reduce.js';
import * as quant from './quant.js';
import { allocGpu, uploadHost } from './storage.js';

export type { DropoutSpec };

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;

  constructor(readonly ctx: GpuContext) {}

  static async create(): Promise<WebGpuBackend> {
    return new WebGpuBackend(await getDevice());
  }

  upload(t: Tensor): Tensor {
    if (t.location === 'webgpu') return t;
    if (t.location !== 'cpu') throw new Error(`webgpu backend: ${t} must be read back to the host before upload`);
    return uploadHost(this.ctx, t);
  }
  zeros(dtype: DType, dims: readonly number[]): Tensor {
    const t = allocGpu(this.ctx, dtype, dims);
    elementwise.fillZero(this.ctx, t);
    return t;
  }
  sync(): Promise<void> {
    return sync(this.ctx);
  }

  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
    return matmul.matmul(this.ctx, a, b, opts);
  }
  loraMatmul(x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor {
    return lora.loraMatmul(this.ctx, x, w, a, b, opts);
  }
  loraMatmulBackward(x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions) {
    return lora.loraMatmulBackward(this.ctx, x, w, a, b, dy, opts);
  }

  unary(op: UnaryOp, x: Tensor): Tensor {
    return elementwise.unary(this.ctx, op, x);
  }
  unaryBackward(op: UnaryOp, x: Tensor, dy: Tensor): Tensor {
    return elementwise.unaryBackward(this.ctx, op, x, dy);
  }
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    return elementwise.binary(this.ctx, op, a, b);
  }
  binaryBackward(op: BinaryOp, a: Tensor, b: Tensor, dy: Tensor) {
    return elementwise.binaryBackward(this.ctx, op, a, b, dy);
  }
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    return elementwise.where(this.ctx, cond, a, b);
  }
  cast(x: Tensor, to: DType): Tensor {
    return elementwise.cast(this.ctx, x, to);
  }
  sumToShape(x: Tensor, dims: readonly number[]): Tensor {
    return elementwise.sumToShape(this.ctx, x, dims);
  }

  reduce(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
    return reduce.reduce(this.ctx, op, x, axes, keepDims);
  }
  reduceBackward(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean, dy: Tensor): Tensor {
    return reduce.reduceBackward(this.ctx, op, x, axes, keepDims, dy);
  }
  softmax(x: Tensor, opts?: SoftmaxOptions): Tensor {
    return reduce.softmax(this.ctx, x, opts);
  }
  softmaxBackward(y: Tensor, dy: Tensor): Tensor {
    return reduce.softmaxBackward(this.ctx, y, dy);
  }
  crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex?: number): Tensor {
    return reduce.crossEntropy(this.ctx, logits, labels, ignoreIndex);
  }
  crossEntropyBackward(logits: Tensor, labels: Tensor, dLoss: Tensor, ignoreIndex?: number): Tensor {
    return reduce.crossEntropyBackward(this.ctx, logits, labels, dLoss, ignoreIndex);
  }

  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor | undefined, eps: number, residual?: Tensor) {
    return norm.layerNorm(this.ctx, x, gamma, beta, eps, residual);
  }
  layerNormBackward(x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, dy: Tensor) {
    return norm.layerNormBackward(this.ctx, x, gamma, mean, invStd, dy);
  }
  rmsNorm(x: Tensor, gamma: Tensor, eps: number, residual?: Tensor) {
    return norm.rmsNorm(this.ctx, x, gamma, eps, residual);
  }
  rmsNormBackward(x: Tensor, gamma: Tensor, invStd: Tensor, dy: Tensor) {
    return norm.rmsNormBackward(this.ctx, x, gamma, invStd, dy);
  }

  gather(data: Tensor, indices: Tensor, axis: number): Tensor {
    return layout.gather(this.ctx, data, indices, axis);
  }
  gatherBackward(indices: Tensor, dy: Tensor, dataDims: readonly number[], axis: number): Tensor {
    return layout.gatherBackward(this.ctx, indices, dy, dataDims, axis);
  }
  transpose(x: Tensor, perm: readonly number[]): Tensor {
    return layout.transpose(this.ctx, x, perm);
  }
  concat(xs: readonly Tensor[], axis: number): Tensor {
    return layout.concat(this.ctx, xs, axis);
  }
  slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tensor {
    return layout.slice(this.ctx, x, starts, ends, axes, steps);
  }
  sliceBackward(dy: Tensor, xDims: readonly number[], starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tensor {
    return layout.sliceBackward(this.ctx, dy, xDims, starts, ends, axes, steps);
  }
  expand(x: Tensor, dims: readonly number[]): Tensor {
    return layout.expand(this.ctx, x, dims);
  }
  reshape(x: Tensor, dims: readonly number[]): Tensor {
    return layout.reshape(this.ctx, x, dims);
  }

  cumsum(x: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor {
    return quant.cumsum(this.ctx, x, axis, exclusive, reverse);
  }
  scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction?: 'none' | 'add'): Tensor {
    return quant.scatterND(this.ctx, data, indices, updates, reduction);
  }
  dequantize(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number, blockSize?: number): Tensor {
    return quant.dequantize(this.ctx, x, scale, zeroPoint, axis, blockSize);
  }
  dequantizeBlockwise(b: Tensor, scales: Tensor, zeroPoints: Tensor | undefined, n: number, k: number, bits: number, blockSize: number): Tensor {
    return quant.dequantizeBlockwise(this.ctx, b, scales, zeroPoints, n, k, bits, blockSize);
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void {
    optim.adamw(this.ctx, param, grad, m, v, opts);
  }
}
