/**
 * webgpu launchers: unary ops and their backward (`kernels/unary.wgsl`), zero fill.
 * Binary ops and where are in ./binary.ts, cast in ./cast.ts, sumToShape in
 * ./sumToShape.ts; they are re-exported here for the backend's op table.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { UnaryOp } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import unarySrc from '../../../kernels/unary.wgsl';
import fillSrc from '../../../kernels/fill.wgsl';
import { logicalNot } from './binary.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

export { binary, binaryBackward, where } from './binary.js';
export { cast } from './cast.js';
export { sumToShape } from './sumToShape.js';

const WG = 256;

/** Float32 unary ops; the order matches the OP codes in kernels/unary.wgsl. `not` (bool) runs in kernels/binary.wgsl. */
export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'abs', 'sqrt', 'exp', 'log', 'tanh', 'erf', 'sigmoid', 'relu',
  'gelu', 'gelu_tanh', 'silu', 'reciprocal', 'cos', 'sin',
];

function opCode(op: UnaryOp, what: string): number {
  const code = UNARY_OPS.indexOf(op);
  if (code < 0) throw new Error(`${what}: unknown op '${op}'`);
  return code;
}

export function unary(ctx: GpuContext, op: UnaryOp, x: Tensor): Tensor {
  if (op === 'not') return logicalNot(ctx, x);
  const code = opCode(op, 'unary');
  const xb = buf(ctx, x, `unary ${op}`);
  const y = out(ctx, x.dims);
  const n = x.size;
  if (n === 0) return y;
  launch(ctx, {
    kernel: { name: 'unary', code: unarySrc },
    constants: { OP: code, WG },
    buffers: [xb, gpuStorage(y).buffer],
    uniforms: [n],
    workgroups: Math.ceil(n / WG),
  });
  return y;
}

/** dx = dy · f'(x), the `backward` entry of kernels/unary.wgsl. */
export function unaryBackward(ctx: GpuContext, op: UnaryOp, x: Tensor, dy: Tensor): Tensor {
  if (op === 'not') throw new Error('unaryBackward: not (on bool) has no gradient');
  const code = opCode(op, 'unaryBackward');
  if (!sameDims(x.dims, dy.dims)) {
    throw new Error(`unaryBackward ${op}: dy is ${fmtDims(dy.dims)}, expected x's ${fmtDims(x.dims)}`);
  }
  const xb = buf(ctx, x, `unaryBackward ${op} x`);
  const gb = buf(ctx, dy, `unaryBackward ${op} dy`);
  const dx = out(ctx, x.dims);
  const n = x.size;
  if (n === 0) return dx;
  launch(ctx, {
    kernel: { name: 'unary', code: unarySrc, entryPoint: 'backward' },
    constants: { OP: code, WG },
    buffers: [xb, gpuStorage(dx).buffer, gb],
    uniforms: [n],
    workgroups: Math.ceil(n / WG),
  });
  return dx;
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
