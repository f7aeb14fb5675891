import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { UNARY } from '../../src/tensor/cpu/elementwise.js';
import { UNARY_OPS } from '../../src/tensor/webgpu/elementwise.js';
import type { UnaryOp } from '../../src/tensor/backend.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectClose, randn } from '../helpers/numeric.js';

const cpu = new CpuBackend();

// Inputs per op kept inside each function's domain (sqrt/log/reciprocal need x > 0).
const POSITIVE = new Set<UnaryOp>(['sqrt', 'log', 'reciprocal']);
const input = (op: UnaryOp, dims: number[], seed: number) =>
  POSITIVE.has(op) ? randn(dims, seed, 0.1, 4) : randn(dims, seed, -4, 4);

describe('cpu unary reference', () => {
  it('erf matches known values', () => {
    expect(UNARY.erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(UNARY.erf(-2)).toBeCloseTo(-0.9953222650189527, 14);
    expect(UNARY.erf(3)).toBeCloseTo(0.9999779095030014, 14);
  });
  it('gelu is x·Φ(x)', () => {
    expect(UNARY.gelu(1)).toBeCloseTo(0.8413447460685429, 12);
  });
});

describe.skipIf(!hasWebGpu)('webgpu unary vs cpu', () => {
  // 1 element, a non-multiple of the workgroup (256), and a multi-workgroup size.
  for (const dims of [[1], [3, 97], [2, 5, 131]]) {
    for (const op of UNARY_OPS.filter((o) => o !== 'not')) {
      it(`${op} ${JSON.stringify(dims)}`, async () => {
        const g = await gpu();
        const x = input(op, dims, 17 + dims.length);
        // erf in WGSL is Abramowitz–Stegun 7.1.26 (|err| < 1.5e-7); exp/tanh are f32 builtins.
        await expectClose(g.unary(op, g.upload(x)), cpu.unary(op, x), { atol: 2e-6, rtol: 2e-5 }, op);
      });
    }
  }
});
