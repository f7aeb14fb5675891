/** webgpu launchers: elementwise ops (`kernels/unary.wgsl` ...). */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { BinaryOp, UnaryOp } from '../backend.js';
import type { Tensor, DType } from '../tensor.js';
import unarySrc from '../../../kernels/unary.wgsl';
import fillSrc from '../../../kernels/fill.wgsl';
import { buf, notImplemented, out } from './common.js';
import { gpuStorage } from './storage.js';

const WG = 256;

/** Order matches the OP codes in kernels/unary.wgsl. */
export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'abs', 'sqrt', 'exp', 'log', 'tanh', 'erf', 'sigmoid', 'relu',
  'gelu', 'gelu_tanh', 'silu', 'reciprocal', 'cos', 'sin', 'not',
];

export function unary(ctx: GpuContext, op: UnaryOp, x: Tensor): Tensor {
  const code = UNARY_OPS.indexOf(op);
  if (code < 0) throw new Error(`unary: unknown op '${op}'`);
  const y = out(ctx, x.dims);
  const n = x.size;
  if (n === 0) return y;
  launch(ctx, {
    kernel: { name: 'unary', code: unarySrc },
    constants: { OP: code, WG },
    buffers: [buf(ctx, x, `unary ${op}`), gpuStorage(y).buffer],
    uniforms: [n],
    workgroups: Math.ceil(n / WG),
  });
  return y;
}

/** Sets every 32-bit word of a device tensor to 0. */
export function fillZero(ctx: GpuContext, t: Tensor): void {
  const b = gpuStorage(t).buffer;
  const words = b.size / 4;
  launch(ctx, {
    kernel: { name: 'fill', code: fillSrc },
    constants: { WG },
    buffers: [b],
    uniforms: [words, 0],
    workgroups: Math.ceil(words / WG),
  });
}

export function unaryBackward(_ctx: GpuContext, op: UnaryOp, _x: Tensor, _dy: Tensor): Tensor {
  return notImplemented(`unaryBackward ${op}`);
}
export function binary(_ctx: GpuContext, op: BinaryOp, _a: Tensor, _b: Tensor): Tensor {
  return notImplemented(`binary ${op}`);
}
export function binaryBackward(_ctx: GpuContext, op: BinaryOp, _a: Tensor, _b: Tensor, _dy: Tensor): { da: Tensor; db: Tensor } {
  return notImplemented(`binaryBackward ${op}`);
}
export function where(_ctx: GpuContext, _c: Tensor, _a: Tensor, _b: Tensor): Tensor {
  return notImplemented('where');
}
export function cast(_ctx: GpuContext, _x: Tensor, _to: DType): Tensor {
  return notImplemented('cast');
}
export function sumToShape(_ctx: GpuContext, _x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('sumToShape');
}
