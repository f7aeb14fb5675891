/**
 * cpu reference: elementwise unary ops and their derivatives. Float64 math, rounded to
 * float32 on store. Binary ops, where and sumToShape are in ./binary.ts, cast in
 * ./cast.ts; they are re-exported here for the backend's op table.
 */
import type { UnaryOp } from '../backend.js';
import { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { f32, f32Tensor, toHost } from './common.js';

export { binary, binaryBackward, where, sumToShape } from './binary.js';
export { cast } from './cast.js';

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
const normalPdf = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
const GELU_KAPPA = 0.044715;

/** Unary ops on float32; `not` is the one op on bool and has its own path. */
export type FloatUnaryOp = Exclude<UnaryOp, 'not'>;

export const UNARY: Record<FloatUnaryOp, (v: number) => number> = {
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
  gelu_tanh: (v) => 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_KAPPA * v ** 3))),
  silu: (v) => v * sigmoid(v),
  reciprocal: (v) => 1 / v,
  cos: Math.cos,
  sin: Math.sin,
};

/** f'(v). At kinks PyTorch's choice: relu'(0) = 0, abs'(0) = sign(0) = 0. */
export const UNARY_GRAD: Record<FloatUnaryOp, (v: number) => number> = {
  neg: () => -1,
  abs: Math.sign,
  sqrt: (v) => 0.5 / Math.sqrt(v),
  exp: Math.exp,
  log: (v) => 1 / v,
  tanh: (v) => 1 - Math.tanh(v) ** 2,
  erf: (v) => (2 / Math.sqrt(Math.PI)) * Math.exp(-v * v),
  sigmoid: (v) => sigmoid(v) * (1 - sigmoid(v)),
  relu: (v) => (v > 0 ? 1 : 0),
  gelu: (v) => 0.5 * (1 + erf(v / Math.SQRT2)) + v * normalPdf(v),
  gelu_tanh: (v) => {
    // PyTorch's GeluBackward with approximate='tanh'.
    const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_KAPPA * v ** 3));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * GELU_KAPPA * v * v);
  },
  silu: (v) => sigmoid(v) * (1 + v * (1 - sigmoid(v))),
  reciprocal: (v) => -1 / (v * v),
  cos: (v) => -Math.sin(v),
  sin: Math.cos,
};

export function unary(op: UnaryOp, x: Tensor): Tensor {
  if (op === 'not') return logicalNot(x);
  const fn = UNARY[op];
  if (!fn) throw new Error(`unary: unknown op '${op}'`);
  const xs = f32(x, `unary ${op}`);
  const ys = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) ys[i] = fn(xs[i]);
  return f32Tensor(ys, x.dims);
}

function logicalNot(x: Tensor): Tensor {
  if (x.dtype !== 'bool') throw new Error(`unary not: expected bool, got ${x.dtype} ${fmtDims(x.dims)}`);
  const xs = toHost(x).hostData<Uint8Array>();
  return new Tensor('bool', Uint8Array.from(xs, (v) => (v === 0 ? 1 : 0)), x.dims);
}

export function unaryBackward(op: UnaryOp, x: Tensor, dy: Tensor): Tensor {
  if (op === 'not') throw new Error('unaryBackward: not (on bool) has no gradient');
  const df = UNARY_GRAD[op];
  if (!df) throw new Error(`unaryBackward: unknown op '${op}'`);
  const xs = f32(x, `unaryBackward ${op} x`);
  const g = f32(dy, `unaryBackward ${op} dy`);
  if (!sameDims(x.dims, dy.dims)) {
    throw new Error(`unaryBackward ${op}: dy is ${fmtDims(dy.dims)}, expected x's ${fmtDims(x.dims)}`);
  }
  const dx = new Float32Array(xs.length);
  for (let i = 0; i < xs.length; i++) dx[i] = g[i] * df(xs[i]);
  return f32Tensor(dx, x.dims);
}
