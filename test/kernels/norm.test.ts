import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend, NormResult } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { gradError, numericGrad } from '../helpers/gradcheck.js';
import { expectClose, randn, type Tolerance } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const t32 = (v: number[], dims: number[]) => new Tensor('float32', Float32Array.from(v), dims);

// ── PyTorch fixtures (scripts/norm_adamw_reference.py, torch 1.13) ──────────────
interface NormCase {
  rows: number; C: number; eps: number;
  x: number[]; gamma: number[]; beta?: number[]; residual?: number[]; dy: number[];
  y: number[]; mean?: number[]; invStd: number[]; sum?: number[];
  dx: number[]; dgamma: number[]; dbeta?: number[]; dresidual?: number[];
}
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/norm_reference.json', import.meta.url), 'utf8')) as Record<string, NormCase>;

// torch computes in float32 op by op, the cpu reference in float64 per row: ~1e-7 apart.
const TORCH_TOL: Tolerance = { atol: 2e-6, rtol: 1e-5 };

async function checkAgainstTorch(b: Backend, name: string, f: NormCase): Promise<void> {
  const d = [f.rows, f.C];
  const x = b.upload(t32(f.x, d));
  const gamma = b.upload(t32(f.gamma, [f.C]));
  const res = f.residual ? b.upload(t32(f.residual, d)) : undefined;
  const dy = b.upload(t32(f.dy, d));
  const rms = f.mean === undefined;
  const fw = rms ? b.rmsNorm(x, gamma, f.eps, res) : b.layerNorm(x, gamma, b.upload(t32(f.beta!, [f.C])), f.eps, res);
  await expectClose(fw.y, t32(f.y, d), TORCH_TOL, `${name} y`);
  await expectClose(fw.invStd, t32(f.invStd, [f.rows]), TORCH_TOL, `${name} invStd`);
  if (!rms) await expectClose(fw.mean!, t32(f.mean!, [f.rows]), TORCH_TOL, `${name} mean`);
  if (res) await expectClose(fw.sum!, t32(f.sum!, d), TORCH_TOL, `${name} sum`);
  const s = fw.sum ?? x; // the backward takes the normalized input
  const bw = rms ? b.rmsNormBackward(s, gamma, fw.invStd, dy) : b.layerNormBackward(s, gamma, fw.mean!, fw.invStd, dy);
  await expectClose(bw.dx, t32(f.dx, d), TORCH_TOL, `${name} dx`);
  // With a residual, autograd's dresidual equals dx: one gradient w.r.t. the sum, given to both addends.
  if (res) await expectClose(bw.dx, t32(f.dresidual!, d), TORCH_TOL, `${name} dresidual`);
  await expectClose(bw.dGamma, t32(f.dgamma, [f.C]), TORCH_TOL, `${name} dgamma`);
  if (!rms) await expectClose((bw as { dBeta?: Tensor }).dBeta!, t32(f.dbeta!, [f.C]), TORCH_TOL, `${name} dbeta`);
}

describe('cpu norm reference', () => {
  for (const name of Object.keys(fixtures).filter((k) => typeof fixtures[k] === 'object')) {
    it(`matches torch: ${name}`, () => checkAgainstTorch(cpu, name, fixtures[name]));
  }

  it('golden: LayerNorm of [1, 2, 3] and RMSNorm of [3, 4] by hand', async () => {
    const ln = cpu.layerNorm(t32([1, 2, 3], [1, 3]), t32([1, 1, 1], [3]), undefined, 0);
    // mean 2, biased variance 2/3, so y = (x − 2)·√1.5.
    await expectClose(ln.y, t32([-Math.sqrt(1.5), 0, Math.sqrt(1.5)], [1, 3]), { atol: 1e-6, rtol: 0 }, 'ln y');
    await expectClose(ln.invStd, t32([Math.sqrt(1.5)], [1]), { atol: 1e-6, rtol: 0 }, 'ln invStd');
    const rms = cpu.rmsNorm(t32([3, 4], [1, 2]), t32([1, 2], [2]), 0);
    // mean(x²) = 12.5.
    const r = 1 / Math.sqrt(12.5);
    await expectClose(rms.y, t32([3 * r, 8 * r], [1, 2]), { atol: 1e-6, rtol: 0 }, 'rms y');
  });

  it('names the input and expected shape on bad input', () => {
    const x = randn([2, 7], 1);
    expect(() => cpu.layerNorm(x, randn([6], 2), undefined, 1e-5)).toThrow(/layerNorm: gamma must be \[7\].*got \[6\]/);
    expect(() => cpu.rmsNorm(x, randn([7], 2), 1e-5, randn([2, 6], 3))).toThrow(/rmsNorm: residual must have x's dims \[2, 7\]/);
    expect(() => cpu.layerNormBackward(x, randn([7], 2), randn([3], 4), randn([2], 5), x)).toThrow(/mean must hold one value per row \(2\)/);
  });
});

// ── central differences on the cpu backwards ───────────────────────────────────
describe('cpu norm backward vs central differences', () => {
  // L = Σ y ⊙ w; f32 forward values make eps = 1e-2 the sweet spot (truncation ~1e-4·|f'''|).
  const EPS = 1e-2;
  const MAX_ERR = 2e-3;
  const dims = [3, 5];
  const w = randn(dims, 99).hostData<Float32Array>();
  const dy = new Tensor('float32', w, dims);

  for (const withRes of [false, true]) {
    it(`LayerNorm dx, dGamma, dBeta${withRes ? ' (residual)' : ''}`, () => {
      const inputs = [randn(dims, 1, -2, 2), randn([5], 2, 0.5, 1.5), randn([5], 3), randn(dims, 4)];
      const f = (xs: Tensor[]) => cpu.layerNorm(xs[0], xs[1], xs[2], 1e-5, withRes ? xs[3] : undefined).y;
      const fw = cpu.layerNorm(inputs[0], inputs[1], inputs[2], 1e-5, withRes ? inputs[3] : undefined);
      const g = cpu.layerNormBackward(fw.sum ?? inputs[0], inputs[1], fw.mean!, fw.invStd, dy);
      expect(gradError(g.dx.hostData<Float32Array>(), numericGrad(f, inputs, 0, w, EPS))).toBeLessThan(MAX_ERR);
      expect(gradError(g.dGamma.hostData<Float32Array>(), numericGrad(f, inputs, 1, w, EPS))).toBeLessThan(MAX_ERR);
      expect(gradError(g.dBeta.hostData<Float32Array>(), numericGrad(f, inputs, 2, w, EPS))).toBeLessThan(MAX_ERR);
      // dx is the gradient w.r.t. x + residual: it is also the residual's gradient.
      if (withRes) expect(gradError(g.dx.hostData<Float32Array>(), numericGrad(f, inputs, 3, w, EPS))).toBeLessThan(MAX_ERR);
    });

    it(`RMSNorm dx, dGamma${withRes ? ' (residual)' : ''}`, () => {
      const inputs = [randn(dims, 5, -2, 2), randn([5], 6, 0.5, 1.5), randn(dims, 7)];
      const f = (xs: Tensor[]) => cpu.rmsNorm(xs[0], xs[1], 1e-6, withRes ? xs[2] : undefined).y;
      const fw = cpu.rmsNorm(inputs[0], inputs[1], 1e-6, withRes ? inputs[2] : undefined);
      const g = cpu.rmsNormBackward(fw.sum ?? inputs[0], inputs[1], fw.invStd, dy);
      expect(gradError(g.dx.hostData<Float32Array>(), numericGrad(f, inputs, 0, w, EPS))).toBeLessThan(MAX_ERR);
      expect(gradError(g.dGamma.hostData<Float32Array>(), numericGrad(f, inputs, 1, w, EPS))).toBeLessThan(MAX_ERR);
      if (withRes) expect(gradError(g.dx.hostData<Float32Array>(), numericGrad(f, inputs, 2, w, EPS))).toBeLessThan(MAX_ERR);
    });
  }
});

// ── webgpu vs the cpu reference ───────────────────────────────────────────────
interface Variant { rms: boolean; beta: boolean; res: boolean }
const VARIANTS: Variant[] = [
  { rms: false, beta: true, res: false },
  { rms: false, beta: false, res: true },
  { rms: false, beta: true, res: true },
  { rms: true, beta: false, res: false },
  { rms: true, beta: false, res: true },
];
const label = (v: Variant) => `${v.rms ? 'RMSNorm' : 'LayerNorm'}${v.beta ? '+beta' : ''}${v.res ? '+residual' : ''}`;

function forward(b: Backend, v: Variant, x: Tensor, gamma: Tensor, beta: Tensor, res: Tensor): NormResult {
  const r = v.res ? b.upload(res) : undefined;
  return v.rms ? b.rmsNorm(b.upload(x), b.upload(gamma), 1e-6, r) : b.layerNorm(b.upload(x), b.upload(gamma), v.beta ? b.upload(beta) : undefined, 1e-5, r);
}

function backward(b: Backend, v: Variant, ref: NormResult, x: Tensor, gamma: Tensor, dy: Tensor): Tensor[] {
  const s = ref.sum ?? x;
  if (v.rms) {
    const g = b.rmsNormBackward(b.upload(s), b.upload(gamma), b.upload(ref.invStd), b.upload(dy));
    return [g.dx, g.dGamma];
  }
  const g = b.layerNormBackward(b.upload(s), b.upload(gamma), b.upload(ref.mean!), b.upload(ref.invStd), b.upload(dy));
  return [g.dx, g.dGamma, g.dBeta];
}

describe.skipIf(!hasWebGpu)('webgpu norm vs cpu', () => {
  // Row lengths around the per-row workgroup sizes (32..256 threads) and past them;
  // 200 rows span several 32-row chunks of the dGamma reduction; 8257 rows make 65-row chunks.
  const SHAPES = [[1, 1], [3, 7], [5, 97], [2, 768], [2, 1000], [2, 3, 131], [200, 5], [8257, 3]];
  // f32 tree sums vs float64 rows. Measured on SwiftShader: |err| ≤ 5e-7 for C ≥ 5; the
  // C = 3 rows reach 1e-5 (y, dx) because a row of three values in [-3, 3] can have a tiny
  // σ, and invStd (up to ~20 here) scales the rounding of x − mean.
  const FWD: Tolerance = { atol: 3e-5, rtol: 1e-5 };
  // dGamma / dBeta sum up to 8257 rows of O(1) terms in f32 (≥ 32-row chunks, then an ordered
  // chain of ≤ 128 partials): measured |err| ≤ 2e-5 against the float64 sums.
  const PARAM: Tolerance = { atol: 1e-4, rtol: 1e-5 };

  for (const dims of SHAPES) {
    for (const v of VARIANTS) {
      it(`${label(v)} ${JSON.stringify(dims)}`, async () => {
        const g = await gpu();
        const C = dims[dims.length - 1];
        const seed = dims.reduce((a, d) => a * 31 + d, 7);
        const x = randn(dims, seed, -3, 3);
        const res = randn(dims, seed + 1, -1, 1);
        const gamma = randn([C], seed + 2, 0.5, 1.5);
        const beta = randn([C], seed + 3);
        const dy = randn(dims, seed + 4);
        const ref = forward(cpu, v, x, gamma, beta, res);
        const got = forward(g, v, x, gamma, beta, res);
        await expectClose(got.y, ref.y, FWD, 'y');
        await expectClose(got.invStd, ref.invStd, FWD, 'invStd');
        if (!v.rms) await expectClose(got.mean!, ref.mean!, FWD, 'mean');
        if (v.res) await expectClose(got.sum!, ref.sum!, { atol: 0, rtol: 0 }, 'sum'); // one f32 add, exact

        const [dx, ...params] = backward(g, v, ref, x, gamma, dy);
        const [rdx, ...rparams] = backward(cpu, v, ref, x, gamma, dy);
        await expectClose(dx, rdx, FWD, 'dx');
        for (let i = 0; i < params.length; i++) await expectClose(params[i], rparams[i], PARAM, i ? 'dBeta' : 'dGamma');
      });
    }
  }

  it('keeps accuracy when the mean is far from zero (two-pass variance)', async () => {
    const g = await gpu();
    const x = randn([4, 768], 11, 20, 22); // σ ≈ 0.6 around 21
    const gamma = randn([768], 12, 0.5, 1.5);
    const ref = cpu.layerNorm(x, gamma, undefined, 1e-5);
    const got = g.layerNorm(g.upload(x), g.upload(gamma), undefined, 1e-5);
    // The f32 tree mean of values ≈ 21 is off by ~1e-6·21; divided by σ ≈ 0.6 that is ~4e-5 in y.
    await expectClose(got.y, ref.y, { atol: 1e-4, rtol: 1e-5 }, 'y');
  });

  it('dGamma / dBeta are deterministic (bit-identical across runs)', async () => {
    const g = await gpu();
    const x = randn([300, 97], 21);
    const gamma = randn([97], 22);
    const dy = randn([300, 97], 23);
    const fw = cpu.layerNorm(x, gamma, undefined, 1e-5);
    const run = async () => {
      const r = g.layerNormBackward(g.upload(x), g.upload(gamma), g.upload(fw.mean!), g.upload(fw.invStd), g.upload(dy));
      return [...(await r.dGamma.data()), ...(await r.dBeta.data())];
    };
    expect(await run()).toEqual(await run());
  });

  it('gives zero dGamma / dBeta for zero rows', async () => {
    const g = await gpu();
    const x = g.upload(Tensor.zeros('float32', [0, 5]));
    const r = g.layerNormBackward(x, g.upload(randn([5], 1)), g.upload(Tensor.zeros('float32', [0])), g.upload(Tensor.zeros('float32', [0])), x);
    expect(await r.dGamma.toArray()).toEqual([0, 0, 0, 0, 0]);
    expect(await r.dBeta.toArray()).toEqual([0, 0, 0, 0, 0]);
  });

  for (const name of Object.keys(fixtures).filter((k) => typeof fixtures[k] === 'object')) {
    it(`matches torch: ${name}`, async () => checkAgainstTorch(await gpu(), name, fixtures[name]));
  }
});
