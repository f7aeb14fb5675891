/**
 * gpujs broadcasting binary arithmetic (add sub mul div pow max min on float32) and its
 * backward. Numpy broadcasting is collapsed on the host to at most three output dims
 * with per-input strides (0 along broadcast axes), so the kernel reads
 * a[z·sa0 + y·sa1 + x·sa2] straight from thread ids, with no index division.
 * Output [d2, d1, d0]: x is the fastest axis. The op (and, backward, which input's
 * gradient) are gpu.js constants: one compiled kernel per choice. Callers route
 * comparisons, logic, int32 and shapes that do not collapse to three dims to the cpu backend.
 */
import type { BinaryOp } from '../backend.js';
import { Tensor } from '../tensor.js';
import { broadcastStrides } from '../shape.js';
import type { GpuJsRuntime, KernelThis } from './runtime.js';

export const ARITH_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'max', 'min'];

/** numpy pow: pow(x, 0) = 1, a negative base needs an integral exponent (else NaN). GLSL pow is undefined for x < 0. */
function powNumpy(u: number, v: number): number {
  if (v === 0) return 1;
  if (u >= 0) return Math.pow(u, v);
  if (Math.floor(v) !== v) return Math.sqrt(-1);
  const r = Math.pow(-u, v);
  if (v - 2 * Math.floor(v * 0.5) === 1) return -r;
  return r;
}

function binaryKernel(
  this: KernelThis, a: Float32Array, b: Float32Array,
  sa0: number, sa1: number, sa2: number, sb0: number, sb1: number, sb2: number,
): number {
  const x = this.thread.x;
  const y = this.thread.y;
  const z = this.thread.z;
  const u = a[z * sa0 + y * sa1 + x * sa2];
  const v = b[z * sb0 + y * sb1 + x * sb2];
  const op = this.constants.op;
  if (op === 0) return u + v;
  if (op === 1) return u - v;
  if (op === 2) return u * v;
  if (op === 3) return u / v;
  if (op === 4) return powNumpy(u, v);
  if (op === 5) return Math.max(u, v);
  return Math.min(u, v);
}

/**
 * ∂y/∂a · g (which = 0) or ∂y/∂b · g (which = 1) per output element, PyTorch's
 * conventions as the cpu BINARY_GRAD (ties of max/min split the gradient in half).
 * dy is dense over the collapsed output: dy[(z·d1 + y)·d2 + x].
 */
function binaryBackwardKernel(
  this: KernelThis, a: Float32Array, b: Float32Array, dy: Float32Array,
  sa0: number, sa1: number, sa2: number, sb0: number, sb1: number, sb2: number, d1: number, d2: number,
): number {
  const x = this.thread.x;
  const y = this.thread.y;
  const z = this.thread.z;
  const u = a[z * sa0 + y * sa1 + x * sa2];
  const v = b[z * sb0 + y * sb1 + x * sb2];
  const g = dy[(z * d1 + y) * d2 + x];
  const op = this.constants.op;
  const w = this.constants.which;
  if (op === 0) return g;
  if (op === 1) {
    if (w === 0) return g;
    return -g;
  }
  if (op === 2) {
    if (w === 0) return g * v;
    return g * u;
  }
  if (op === 3) {
    if (w === 0) return g / v;
    return (-g * u) / (v * v);
  }
  if (op === 4) {
    if (w === 0) {
      if (v === 0) return 0;
      return g * v * powNumpy(u, v - 1);
    }
    if (u === 0 && v >= 0) return 0;
    return g * powNumpy(u, v) * Math.log(u);
  }
  if (u === v) return 0.5 * g;
  if (op === 5) {
    // max: the larger input takes g
    if (w === 0) {
      if (u > v) return g;
      return 0;
    }
    if (v > u) return g;
    return 0;
  }
  // min: the smaller input takes g
  if (w === 0) {
    if (u < v) return g;
    return 0;
  }
  if (v < u) return g;
  return 0;
}

export interface Collapsed {
  /** (d0, d1, d2) output dims, d2 fastest. */
  dims: [number, number, number];
  sa: [number, number, number];
  sb: [number, number, number];
}

/**
 * Merges adjacent output axes that both inputs read contiguously (or both broadcast),
 * drops size-1 axes, and pads to three. Null when more than three axes remain.
 */
export function collapse3(aDims: readonly number[], bDims: readonly number[], outDims: readonly number[]): Collapsed | null {
  const sa = broadcastStrides(aDims, outDims);
  const sb = broadcastStrides(bDims, outDims);
  const d: number[] = [];
  const A: number[] = [];
  const B: number[] = [];
  for (let i = 0; i < outDims.length; i++) {
    const n = outDims[i];
    if (n === 1) continue;
    const k = d.length - 1;
    if (k >= 0 && A[k] === sa[i] * n && B[k] === sb[i] * n) {
      d[k] *= n;
      A[k] = sa[i];
      B[k] = sb[i];
      continue;
    }
    d.push(n);
    A.push(sa[i]);
    B.push(sb[i]);
  }
  if (d.length > 3) return null;
  while (d.length < 3) {
    d.unshift(1);
    A.unshift(0);
    B.unshift(0);
  }
  return { dims: d as Collapsed['dims'], sa: A as Collapsed['sa'], sb: B as Collapsed['sb'] };
}

/** A 3-D result (planes of rows) copied into one dense array. */
function flat3(r: unknown, [d0, d1, d2]: readonly number[]): Float32Array {
  const planes = r as ArrayLike<ArrayLike<ArrayLike<number>>>;
  const out = new Float32Array(d0 * d1 * d2);
  for (let z = 0; z < d0; z++) for (let y = 0; y < d1; y++) out.set(planes[z][y], (z * d1 + y) * d2);
  return out;
}

function opCode(op: BinaryOp): number {
  const code = ARITH_OPS.indexOf(op);
  if (code < 0) throw new Error(`gpujs binary: '${op}' is not a float arithmetic op`);
  return code;
}

/** a ∘ b over collapsed broadcast `c`; dims of the result are `outDims`. */
export function binary(rt: GpuJsRuntime, op: BinaryOp, a: Float32Array, b: Float32Array, c: Collapsed, outDims: readonly number[]): Tensor {
  const [d0, d1, d2] = c.dims;
  const name = `binary:${op}`;
  const ab = { a: 'Array', b: 'Array' } as const;
  const k = rt.kernel(name, binaryKernel, { ...ab, sa0: 'Integer', sa1: 'Integer', sa2: 'Integer', sb0: 'Integer', sb1: 'Integer', sb2: 'Integer' }, {
    constants: { op: opCode(op) },
    functions: [powNumpy],
  });
  const r = rt.run(name, k, [d2, d1, d0], [a, b, ...c.sa, ...c.sb]);
  return new Tensor('float32', flat3(r, c.dims), outDims);
}

/** The dense (outDims) partial gradient of input `which` (0 = a, 1 = b); the caller sums it to the input's shape. */
export function binaryPartial(
  rt: GpuJsRuntime, op: BinaryOp, which: 0 | 1, a: Float32Array, b: Float32Array, dy: Float32Array, c: Collapsed,
): Float32Array {
  const [d0, d1, d2] = c.dims;
  const name = `binaryBackward:${op}:${which}`;
  const ints = { sa0: 'Integer', sa1: 'Integer', sa2: 'Integer', sb0: 'Integer', sb1: 'Integer', sb2: 'Integer', d1: 'Integer', d2: 'Integer' } as const;
  const k = rt.kernel(name, binaryBackwardKernel, { a: 'Array', b: 'Array', dy: 'Array', ...ints }, {
    constants: { op: opCode(op), which },
    functions: [powNumpy],
  });
  return flat3(rt.run(name, k, [d2, d1, d0], [a, b, dy, ...c.sa, ...c.sb, d1, d2]), c.dims);
}
