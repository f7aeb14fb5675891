/** cpu reference: elementwise ops. Float64 math, rounded to float32 on store. */
import type { BinaryOp, UnaryOp } from '../backend.js';
import type { Tensor, DType } from '../tensor.js';
import { f32, f32Tensor, notImplemented } from './common.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** erf to ~1e-15 (W. J. Cody's rational approximations are overkill here; this series/continued fraction pair is enough for a reference). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5 in float64.
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 60; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc, good for |x| ≥ 2.5.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  return Math.sign(x) * (1 - erfc);
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export const UNARY: Record<UnaryOp, (v: number) => number> = {
  neg: (v) => -v,
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  erf,
  sigmoid,
  relu: (v) => Math.max(v, 0),
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  gelu_tanh: (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v ** 3))),
  silu: (v) => v * sigmoid(v),
  reciprocal: (v) => 1 / v,
  cos: Math.cos,
  sin: Math.sin,
  not: (v) => (v === 0 ? 1 : 0),
};

export function unary(op: UnaryOp, x: Tensor): Tensor {
  const fn = UNARY[op];
  if (!fn) throw new Error(`unary: unknown op '${op}'`);
  const xs = f32(x, `unary ${op}`);
  const ys = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) ys[i] = fn(xs[i]);
  return f32Tensor(ys, x.dims);
}

export function unaryBackward(op: UnaryOp, _x: Tensor, _dy: Tensor): Tensor {
  return notImplemented('cpu', `unaryBackward ${op}`);
}
export function binary(op: BinaryOp, _a: Tensor, _b: Tensor): Tensor {
  return notImplemented('cpu', `binary ${op}`);
}
export function binaryBackward(op: BinaryOp, _a: Tensor, _b: Tensor, _dy: Tensor): { da: Tensor; db: Tensor } {
  return notImplemented('cpu', `binaryBackward ${op}`);
}
export function where(_c: Tensor, _a: Tensor, _b: Tensor): Tensor {
  return notImplemented('cpu', 'where');
}
export function cast(_x: Tensor, _to: DType): Tensor {
  return notImplemented('cpu', 'cast');
}
export function sumToShape(_x: Tensor, _dims: readonly number[]): Tensor {
  return notImplemented('cpu', 'sumToShape');
}
