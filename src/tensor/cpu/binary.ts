/**
 * cpu reference: broadcasting binary ops and their gradients, where, sumToShape.
 * Float math in float64, rounded to float32 on store; gradients are accumulated into
 * their input's shape in float64 (the broadcast sum fused into the backward).
 */
import type { BinaryOp } from '../backend.js';
import { Tensor, sizeOf, type DType, type HostData } from '../tensor.js';
import { broadcastDims, broadcastStrides, fmtDims, sameDims } from '../shape.js';
import { f32, f32Tensor, toHost } from './common.js';

export type ArithOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min';
export type CompareOp = 'equal' | 'less' | 'greater' | 'less_equal' | 'greater_equal';

const ARITH = new Set<BinaryOp>(['add', 'sub', 'mul', 'div', 'pow', 'max', 'min']);
const COMPARE = new Set<BinaryOp>(['equal', 'less', 'greater', 'less_equal', 'greater_equal']);

export const FLOAT_BINARY: Record<ArithOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow, // numpy semantics: negative base needs an integral exponent, pow(x, 0) = 1
  max: Math.max,
  min: Math.min,
};

/** 32-bit wrapping integer ops; division truncates and x / 0 = x, as WGSL defines it. */
export const INT_BINARY: Record<Exclude<ArithOp, 'pow'>, (a: number, b: number) => number> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  mul: Math.imul,
  div: (a, b) => (b === 0 ? a : Math.trunc(a / b) | 0),
  max: Math.max,
  min: Math.min,
};

export const COMPARE_FN: Record<CompareOp, (a: number, b: number) => boolean> = {
  equal: (a, b) => a === b,
  less: (a, b) => a < b,
  greater: (a, b) => a > b,
  less_equal: (a, b) => a <= b,
  greater_equal: (a, b) => a >= b,
};

/** Output dtype of `binary(op, a, b)`, or a clear error for unsupported dtypes (shared with webgpu). */
export function binaryResultType(op: BinaryOp, a: Tensor, b: Tensor): DType {
  const what = `binary ${op}`;
  if (a.dtype !== b.dtype) {
    throw new Error(`${what}: a is ${a.dtype} ${fmtDims(a.dims)} but b is ${b.dtype} ${fmtDims(b.dims)}; cast one first`);
  }
  const t = a.dtype;
  const ok = (allowed: DType[], out: DType) => {
    if (!allowed.includes(t)) {
      throw new Error(`${what}: expected ${allowed.join(' or ')} inputs, got ${t} ${fmtDims(a.dims)} and ${fmtDims(b.dims)}`);
    }
    return out;
  };
  if (op === 'pow') return ok(['float32'], t);
  if (ARITH.has(op)) return ok(['float32', 'int32'], t);
  if (op === 'equal') return ok(['float32', 'int32', 'bool'], 'bool');
  if (COMPARE.has(op)) return ok(['float32', 'int32'], 'bool');
  if (op === 'and' || op === 'or') return ok(['bool'], 'bool');
  throw new Error(`binary: unknown op '${op}'`);
}

/** For each element of `outDims` (row-major), the linear index of the element of `dims` broadcast to it. */
export function broadcastOffsets(dims: readonly number[], outDims: readonly number[]): Int32Array {
  const n = sizeOf(outDims);
  const st = broadcastStrides(dims, outDims);
  const off = new Int32Array(n);
  const idx = new Array<number>(outDims.length).fill(0);
  let cur = 0;
  for (let i = 0; i < n; i++) {
    off[i] = cur;
    for (let k = outDims.length - 1; k >= 0; k--) {
      idx[k]++;
      cur += st[k];
      if (idx[k] < outDims[k]) break;
      cur -= st[k] * outDims[k];
      idx[k] = 0;
    }
  }
  return off;
}

const host = (t: Tensor) => toHost(t).hostData<Float32Array | Int32Array | Uint8Array>();

export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const outType = binaryResultType(op, a, b);
  const dims = broadcastDims(a.dims, b.dims, `binary ${op}`);
  const oa = broadcastOffsets(a.dims, dims);
  const ob = broadcastOffsets(b.dims, dims);
  const av = host(a);
  const bv = host(b);
  const n = oa.length;
  let y: HostData;
  if (outType === 'bool') {
    const fn: (x: number, z: number) => boolean =
      op === 'and' ? (x, z) => x !== 0 && z !== 0 : op === 'or' ? (x, z) => x !== 0 || z !== 0 : COMPARE_FN[op as CompareOp];
    y = new Uint8Array(n);
    for (let i = 0; i < n; i++) y[i] = fn(av[oa[i]], bv[ob[i]]) ? 1 : 0;
  } else {
    const fn = outType === 'int32' ? INT_BINARY[op as Exclude<ArithOp, 'pow'>] : FLOAT_BINARY[op as ArithOp];
    y = outType === 'int32' ? new Int32Array(n) : new Float32Array(n);
    for (let i = 0; i < n; i++) y[i] = fn(av[oa[i]], bv[ob[i]]);
  }
  return new Tensor(outType, y, dims);
}

/** (∂y/∂a · g, ∂y/∂b · g) per element, PyTorch's conventions (see kernels/binary_backward.wgsl). */
export const BINARY_GRAD: Record<ArithOp, (a: number, b: number, g: number) => [number, number]> = {
  add: (_a, _b, g) => [g, g],
  sub: (_a, _b, g) => [g, -g],
  mul: (a, b, g) => [g * b, g * a],
  div: (a, b, g) => [g / b, (-g * a) / (b * b)],
  pow: (a, b, g) => [
    b === 0 ? 0 : g * b * Math.pow(a, b - 1),
    a === 0 && b >= 0 ? 0 : g * Math.pow(a, b) * Math.log(a),
  ],
  max: (a, b, g) => (a === b ? [g / 2, g / 2] : a > b ? [g, 0] : [0, g]),
  min: (a, b, g) => (a === b ? [g / 2, g / 2] : a < b ? [g, 0] : [0, g]),
};

export function binaryBackward(op: BinaryOp, a: Tensor, b: Tensor, dy: Tensor): { da: Tensor; db: Tensor } {
  const grad = BINARY_GRAD[op as ArithOp];
  if (!grad) throw new Error(`binaryBackward: '${op}' has no gradient (only add, sub, mul, div, pow, max, min)`);
  const what = `binaryBackward ${op}`;
  const av = f32(a, `${what} a`);
  const bv = f32(b, `${what} b`);
  const g = f32(dy, `${what} dy`);
  const dims = broadcastDims(a.dims, b.dims, what);
  if (!sameDims(dy.dims, dims)) throw new Error(`${what}: dy is ${fmtDims(dy.dims)}, expected ${fmtDims(dims)}`);
  const oa = broadcastOffsets(a.dims, dims);
  const ob = broadcastOffsets(b.dims, dims);
  const da = new Float64Array(a.size);
  const db = new Float64Array(b.size);
  for (let i = 0; i < g.length; i++) {
    const [ga, gb] = grad(av[oa[i]], bv[ob[i]], g[i]);
    da[oa[i]] += ga;
    db[ob[i]] += gb;
  }
  return { da: f32Tensor(Float32Array.from(da), a.dims), db: f32Tensor(Float32Array.from(db), b.dims) };
}

export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`where: cond must be bool, got ${cond.dtype} ${fmtDims(cond.dims)}`);
  if (a.dtype !== b.dtype) throw new Error(`where: a is ${a.dtype} ${fmtDims(a.dims)} but b is ${b.dtype} ${fmtDims(b.dims)}`);
  if (!['float32', 'int32', 'bool'].includes(a.dtype)) throw new Error(`where: expected float32, int32 or bool values, got ${a.dtype}`);
  const dims = broadcastDims(broadcastDims(cond.dims, a.dims, 'where (cond, a)'), b.dims, 'where (cond·a, b)');
  const oc = broadcastOffsets(cond.dims, dims);
  const oa = broadcastOffsets(a.dims, dims);
  const ob = broadcastOffsets(b.dims, dims);
  const [cv, av, bv] = [host(cond), host(a), host(b)];
  const y = new (av.constructor as new (n: number) => Float32Array | Int32Array | Uint8Array)(oc.length);
  for (let i = 0; i < y.length; i++) y[i] = cv[oc[i]] !== 0 ? av[oa[i]] : bv[ob[i]];
  return new Tensor(a.dtype, y, dims);
}

/**
 * Checks that `dims` broadcasts to `xDims` (each axis, aligned right, equal or 1;
 * extra leading axes of `dims` must be 1), so summing x to `dims` is well defined.
 */
export function checkSumToShape(xDims: readonly number[], dims: readonly number[]): void {
  const r = Math.max(xDims.length, dims.length);
  for (let i = 0; i < r; i++) {
    const xd = xDims[xDims.length - r + i] ?? 1;
    const d = dims[dims.length - r + i] ?? 1;
    if (d !== xd && d !== 1) {
      throw new Error(`sumToShape: cannot sum ${fmtDims(xDims)} to ${fmtDims(dims)} (axis ${i}: ${xd} → ${d}; must be equal or 1)`);
    }
  }
}

export function sumToShape(x: Tensor, dims: readonly number[]): Tensor {
  const xv = f32(x, 'sumToShape');
  checkSumToShape(x.dims, dims);
  // Read `dims` as if broadcast to x (with x given leading 1s if `dims` has more axes).
  const xDims = [...new Array<number>(Math.max(0, dims.length - x.rank)).fill(1), ...x.dims];
  const off = broadcastOffsets(dims, xDims);
  const acc = new Float64Array(sizeOf(dims));
  for (let i = 0; i < xv.length; i++) acc[off[i]] += xv[i];
  return f32Tensor(Float32Array.from(acc), dims);
}
