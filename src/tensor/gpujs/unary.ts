/**
 * gpujs unary ops and their backward: one output cell per element, output [n].
 * The op is a gpu.js constant (one compiled kernel per op, like the OP override of
 * kernels/unary.wgsl); codes follow UNARY_OPS. `not` (bool) runs on the cpu backend.
 */
import type { UnaryOp } from '../backend.js';
import { Tensor } from '../tensor.js';
import { fmtDims, sameDims } from '../shape.js';
import { f32 } from '../cpu/common.js';
import { flat1, type GpuJsRuntime, type KernelThis } from './runtime.js';

/** Float32 unary ops in op-code order (the same order as the webgpu backend's). */
export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'abs', 'sqrt', 'exp', 'log', 'tanh', 'erf', 'sigmoid', 'relu',
  'gelu', 'gelu_tanh', 'silu', 'reciprocal', 'cos', 'sin',
];

// ── helpers the kernels call (kept in this module; see GpuJsRuntime.kernel) ──

/** Abramowitz–Stegun 7.1.26, |err| < 1.5e-7 (as kernels/unary.wgsl). */
function erfApprox(v: number): number {
  // A branch, not Math.sign: on webasm Math.sign is a call out to JS (abs is an opcode).
  let s = 1;
  if (v < 0) s = -1;
  const a = Math.abs(v);
  const t = 1 / (1 + 0.3275911 * a);
  const p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1 - p * Math.exp(-a * a));
}

/** GLSL tanh may go through exp and overflow past |v| ≈ 44; tanh(±15) is ±1 in f32. */
function tanhSafe(v: number): number {
  return Math.tanh(Math.min(Math.max(v, -15), 15));
}

function sigmoidFn(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/**
 * sin(v + shift·π/2) for shift 0 (sin) or 1 (cos). GLSL sin/cos promise little accuracy
 * (SwiftShader shows 2e-4) and on webasm they are calls out to JS; reduce to
 * r ∈ [−π/4, π/4] plus a quadrant (π/2 split in two f32 parts), then Taylor
 * polynomials (|err| < 3e-8), as kernels/unary.wgsl does.
 */
function sinShifted(v: number, shift: number): number {
  const q = Math.round(v * 0.6366197723675814);
  const r = v - q * 1.5707963705062866 + q * 4.371139000186243e-8;
  const r2 = r * r;
  const sr = r * (1 + r2 * (-0.16666666666 + r2 * (0.008333333333 + r2 * (-0.000198412698 + r2 * 2.7557319e-6))));
  const cr = 1 + r2 * (-0.5 + r2 * (0.041666666666 + r2 * (-0.001388888889 + r2 * 2.48015873e-5)));
  const qs = q + shift;
  const k = qs - 4 * Math.floor(qs * 0.25); // quadrant 0..3
  if (k === 0) return sr;
  if (k === 1) return cr;
  if (k === 2) return -sr;
  return -cr;
}

const HELPERS = [erfApprox, tanhSafe, sigmoidFn, sinShifted];

// ── kernels (gpu.js transpiles these; constants: 0.7978… = √(2/π), 0.7071… = 1/√2) ──

function unaryKernel(this: KernelThis, x: Float32Array): number {
  const v = x[this.thread.x];
  const op = this.constants.op;
  if (op === 0) return -v;
  if (op === 1) return Math.abs(v);
  if (op === 2) return Math.sqrt(v);
  if (op === 3) return Math.exp(v);
  if (op === 4) return Math.log(v);
  if (op === 5) return tanhSafe(v);
  if (op === 6) return erfApprox(v);
  if (op === 7) return sigmoidFn(v);
  if (op === 8) return Math.max(v, 0);
  if (op === 9) return 0.5 * v * (1 + erfApprox(v * 0.7071067811865476));
  if (op === 10) return 0.5 * v * (1 + tanhSafe(0.7978845608028654 * (v + 0.044715 * v * v * v)));
  if (op === 11) return v * sigmoidFn(v);
  if (op === 12) return 1 / v;
  if (op === 13) return sinShifted(v, 1);
  return sinShifted(v, 0);
}

/** dx = dy · f'(x); kinks as PyTorch: relu'(0) = abs'(0) = 0. */
function unaryBackwardKernel(this: KernelThis, x: Float32Array, dy: Float32Array): number {
  const v = x[this.thread.x];
  const g = dy[this.thread.x];
  const op = this.constants.op;
  if (op === 0) return -g;
  if (op === 1) return g * Math.sign(v);
  if (op === 2) return (g * 0.5) / Math.sqrt(v);
  if (op === 3) return g * Math.exp(v);
  if (op === 4) return g / v;
  if (op === 5) {
    const t = tanhSafe(v);
    return g * (1 - t * t);
  }
  if (op === 6) return g * 1.1283791670955126 * Math.exp(-v * v); // 2/√π
  if (op === 7) {
    const s = sigmoidFn(v);
    return g * s * (1 - s);
  }
  if (op === 8) {
    if (v > 0) return g;
    return 0;
  }
  if (op === 9) {
    // Φ(v) + v·φ(v), 0.3989… = 1/√(2π)
    return g * (0.5 * (1 + erfApprox(v * 0.7071067811865476)) + v * 0.3989422804014327 * Math.exp(-0.5 * v * v));
  }
  if (op === 10) {
    const t = tanhSafe(0.7978845608028654 * (v + 0.044715 * v * v * v));
    return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v));
  }
  if (op === 11) {
    const s = sigmoidFn(v);
    return g * s * (1 + v * (1 - s));
  }
  if (op === 12) return -g / (v * v);
  if (op === 13) return -g * sinShifted(v, 0);
  return g * sinShifted(v, 1);
}

function opCode(op: UnaryOp, what: string): number {
  const code = UNARY_OPS.indexOf(op);
  if (code < 0) throw new Error(`${what}: unknown op '${op}'`);
  return code;
}

export function unary(rt: GpuJsRuntime, op: Exclude<UnaryOp, 'not'>, x: Tensor): Tensor {
  const code = opCode(op, 'unary');
  const xs = f32(x, `unary ${op}`);
  const n = xs.length;
  if (n === 0) return new Tensor('float32', new Float32Array(0), x.dims);
  const k = rt.kernel(`unary:${op}`, unaryKernel, { x: 'Array' }, { constants: { op: code }, functions: HELPERS });
  return new Tensor('float32', flat1(rt.run(`unary:${op}`, k, [n], [xs]), n), x.dims);
}

export function unaryBackward(rt: GpuJsRuntime, op: Exclude<UnaryOp, 'not'>, x: Tensor, dy: Tensor): Tensor {
  const code = opCode(op, 'unaryBackward');
  const xs = f32(x, `unaryBackward ${op} x`);
  const g = f32(dy, `unaryBackward ${op} dy`);
  if (!sameDims(x.dims, dy.dims)) {
    throw new Error(`unaryBackward ${op}: dy is ${fmtDims(dy.dims)}, expected x's ${fmtDims(x.dims)}`);
  }
  const n = xs.length;
  if (n === 0) return new Tensor('float32', new Float32Array(0), x.dims);
  const name = `unaryBackward:${op}`;
  const k = rt.kernel(name, unaryBackwardKernel, { x: 'Array', dy: 'Array' }, { constants: { op: code }, functions: HELPERS });
  return new Tensor('float32', flat1(rt.run(name, k, [n], [xs, g]), n), x.dims);
}
