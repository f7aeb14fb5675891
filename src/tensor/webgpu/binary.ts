/**
 * webgpu launchers: broadcasting binary ops (`kernels/binary.wgsl`), their gradients
 * (`kernels/binary_backward.wgsl` + sumToShape), where (`kernels/where.wgsl`) and the
 * bool `not` (the logic path of binary.wgsl).
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Constants, KernelSource } from '../../gpu/pipelineCache.js';
import type { BinaryOp } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { broadcastDims, fmtDims, sameDims } from '../shape.js';
import { binaryResultType } from '../cpu/binary.js';
import binarySrc from '../../../kernels/binary.wgsl';
import binaryBackwardSrc from '../../../kernels/binary_backward.wgsl';
import whereSrc from '../../../kernels/where.wgsl';
import { broadcastPlan, planLaunch, planUniforms, type BroadcastPlan } from './broadcast.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';
import { sumToShape } from './sumToShape.js';

const WG = 256;

/** Order matches the OP codes in kernels/binary.wgsl (and binary_backward.wgsl for the first seven). */
export const BINARY_OPS: readonly BinaryOp[] = [
  'add', 'sub', 'mul', 'div', 'pow', 'max', 'min',
  'equal', 'less', 'greater', 'less_equal', 'greater_equal', 'and', 'or',
];
/** kernels/binary.wgsl's internal op code for bool `not` (b is ignored). */
const NOT_CODE = BINARY_OPS.length;
const DIFFERENTIABLE = 7;

const binaryKernel = { name: 'binary', code: binarySrc };

/** One dispatch of a broadcast kernel: shapes in the uniform, op choices + RANK/VEC as overrides. */
function launchBroadcast(ctx: GpuContext, kernel: KernelSource, constants: Constants, plan: BroadcastPlan, buffers: GPUBuffer[]): void {
  const { constants: shape, workgroups } = planLaunch(plan, WG);
  launch(ctx, { kernel, constants: { ...constants, ...shape, WG }, buffers, uniforms: planUniforms(plan), workgroups });
}

export function binary(ctx: GpuContext, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const code = BINARY_OPS.indexOf(op);
  if (code < 0) throw new Error(`binary: unknown op '${op}'`);
  const outType = binaryResultType(op, a, b);
  const dims = broadcastDims(a.dims, b.dims, `binary ${op}`);
  const ab = buf(ctx, a, `binary ${op} a`, a.dtype);
  const bb = buf(ctx, b, `binary ${op} b`, b.dtype);
  const y = out(ctx, dims, outType);
  if (y.size === 0) return y;
  const plan = broadcastPlan(dims, [a.dims, b.dims], `binary ${op}`);
  launchBroadcast(ctx, binaryKernel, { OP: code, DT: a.dtype === 'float32' ? 0 : 1 }, plan, [ab, bb, gpuStorage(y).buffer]);
  return y;
}

/** Bool `not`: x is bound as both inputs, the second read with zero strides and ignored. */
export function logicalNot(ctx: GpuContext, x: Tensor): Tensor {
  const xb = buf(ctx, x, 'unary not', 'bool');
  const y = out(ctx, x.dims, 'bool');
  if (y.size === 0) return y;
  const plan = { n: x.size, dims: [x.size], strides: [[1], [0]] };
  launchBroadcast(ctx, binaryKernel, { OP: NOT_CODE, DT: 1 }, plan, [xb, xb, gpuStorage(y).buffer]);
  return y;
}

/** Gradients for add/sub/mul/div/pow/max/min: output-shaped in one pass, then summed to each input's shape. */
export function binaryBackward(ctx: GpuContext, op: BinaryOp, a: Tensor, b: Tensor, dy: Tensor): { da: Tensor; db: Tensor } {
  const code = BINARY_OPS.indexOf(op);
  if (code < 0 || code >= DIFFERENTIABLE) {
    throw new Error(`binaryBackward: '${op}' has no gradient (only add, sub, mul, div, pow, max, min)`);
  }
  const what = `binaryBackward ${op}`;
  const dims = broadcastDims(a.dims, b.dims, what);
  if (!sameDims(dy.dims, dims)) throw new Error(`${what}: dy is ${fmtDims(dy.dims)}, expected ${fmtDims(dims)}`);
  const ab = buf(ctx, a, `${what} a`);
  const bb = buf(ctx, b, `${what} b`);
  const gb = buf(ctx, dy, `${what} dy`);
  const ga = out(ctx, dims);
  const gbFull = out(ctx, dims);
  if (ga.size > 0) {
    const plan = broadcastPlan(dims, [a.dims, b.dims], what);
    const kernel = { name: 'binary_backward', code: binaryBackwardSrc };
    launchBroadcast(ctx, kernel, { OP: code }, plan, [ab, bb, gb, gpuStorage(ga).buffer, gpuStorage(gbFull).buffer]);
  }
  return { da: reduceTo(ctx, ga, a.dims), db: reduceTo(ctx, gbFull, b.dims) };
}

/** `full` summed to `dims`; the output-shaped intermediate is released (later passes run after the recorded ones). */
function reduceTo(ctx: GpuContext, full: Tensor, dims: readonly number[]): Tensor {
  if (sameDims(full.dims, dims)) return full;
  const r = sumToShape(ctx, full, dims);
  full.dispose();
  return r;
}

export function where(ctx: GpuContext, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`where: a is ${a.dtype} ${fmtDims(a.dims)} but b is ${b.dtype} ${fmtDims(b.dims)}`);
  const dims = broadcastDims(broadcastDims(cond.dims, a.dims, 'where (cond, a)'), b.dims, 'where (cond·a, b)');
  if (!['float32', 'int32', 'bool'].includes(a.dtype)) throw new Error(`where: expected float32, int32 or bool values, got ${a.dtype}`);
  const cb = buf(ctx, cond, 'where cond', 'bool');
  const ab = buf(ctx, a, 'where a', a.dtype);
  const bb = buf(ctx, b, 'where b', a.dtype);
  const y = out(ctx, dims, a.dtype);
  if (y.size === 0) return y;
  const plan = broadcastPlan(dims, [cond.dims, a.dims, b.dims], 'where');
  launchBroadcast(ctx, { name: 'where', code: whereSrc }, {}, plan, [cb, ab, bb, gpuStorage(y).buffer]);
  return y;
}
