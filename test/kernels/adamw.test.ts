import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AdamWOptions, Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectClose, randn, type Tolerance } from '../helpers/numeric.js';

const cpu = new CpuBackend();
const t32 = (v: number[], dims: readonly number[]) => new Tensor('float32', Float32Array.from(v), dims);

// ── torch.optim.AdamW fixture (scripts/norm_adamw_reference.py, torch 1.13) ─────
interface Step { step: number; lr: number; grad: number[]; param: number[]; m: number[]; v: number[] }
interface AdamWCase { n: number; beta1: number; beta2: number; eps: number; weightDecay: number; param0: number[]; steps: Step[] }
const fixture = (JSON.parse(readFileSync(new URL('../fixtures/adamw_reference.json', import.meta.url), 'utf8')) as { adamw: AdamWCase }).adamw;

// torch rounds to float32 after every op, the cpu reference once per element: a few ulps.
const TORCH_TOL: Tolerance = { atol: 1e-6, rtol: 1e-6 };

/** Runs the fixture's three steps (lr changes every step, as a schedule does) on a backend. */
async function checkAgainstTorch(b: Backend): Promise<void> {
  const f = fixture;
  const dims = [f.n];
  const p = b.upload(t32(f.param0, dims));
  const m = b.zeros('float32', dims);
  const v = b.zeros('float32', dims);
  for (const s of f.steps) {
    const opts: AdamWOptions = { lr: s.lr, beta1: f.beta1, beta2: f.beta2, eps: f.eps, weightDecay: f.weightDecay, step: s.step };
    b.adamw(p, t32(s.grad, dims), m, v, opts); // grad given as a host tensor: uploaded per step
    await expectClose(p, t32(s.param, dims), TORCH_TOL, `param after step ${s.step}`);
    await expectClose(m, t32(s.m, dims), TORCH_TOL, `exp_avg after step ${s.step}`);
    await expectClose(v, t32(s.v, dims), TORCH_TOL, `exp_avg_sq after step ${s.step}`);
  }
}

const OPTS: AdamWOptions = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 };

describe('cpu adamw reference', () => {
  it('matches torch.optim.AdamW over 3 steps with a changing lr', () => checkAgainstTorch(cpu));

  it('golden: the first step moves each weight by ≈ lr·sign(g) after decay', async () => {
    // Step 1 from m = v = 0: m̂ = g, v̂ = g², so p ← p·(1 − lr·wd) − lr·g / (|g| + eps).
    const p = t32([1, -2], [2]);
    const m = Tensor.zeros('float32', [2]);
    const v = Tensor.zeros('float32', [2]);
    cpu.adamw(p, t32([0.5, -4], [2]), m, v, OPTS);
    await expectClose(p, t32([0.999 - 0.1, -1.998 + 0.1], [2]), { atol: 1e-6, rtol: 0 }, 'param');
    await expectClose(m, t32([0.05, -0.4], [2]), { atol: 1e-7, rtol: 1e-6 }, 'm');
    await expectClose(v, t32([0.00025, 0.016], [2]), { atol: 1e-9, rtol: 1e-6 }, 'v');
  });

  it('names the bad input', () => {
    const z = () => Tensor.zeros('float32', [3]);
    expect(() => cpu.adamw(z(), Tensor.zeros('float32', [4]), z(), z(), OPTS)).toThrow(/adamw: grad must have param's dims \[3\], got \[4\]/);
    expect(() => cpu.adamw(z(), z(), z(), z(), { ...OPTS, step: 0 })).toThrow(/step must be an integer ≥ 1/);
    expect(() => cpu.adamw(z(), z(), Tensor.zeros('int32', [3]), z(), OPTS)).toThrow(/adamw: m must be float32/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu adamw', () => {
  it('matches torch.optim.AdamW over 3 steps with a changing lr', async () => checkAgainstTorch(await gpu()));

  // 1 element, a non-multiple of the workgroup (256), and several hundred workgroups.
  for (const dims of [[1], [3, 333], [70001]]) {
    it(`matches the cpu reference over 4 steps ${JSON.stringify(dims)}`, async () => {
      const g = await gpu();
      const seed = dims.reduce((a, d) => a * 7 + d, 3);
      const p0 = randn(dims, seed, -2, 2);
      const state = { p: t32([...p0.hostData<Float32Array>()], dims), m: Tensor.zeros('float32', dims), v: Tensor.zeros('float32', dims) };
      const dev = { p: g.upload(p0), m: g.zeros('float32', dims), v: g.zeros('float32', dims) };
      for (let step = 1; step <= 4; step++) {
        const grad = randn(dims, seed + step, -3, 3);
        const opts = { ...OPTS, lr: 0.05 / step, weightDecay: 0.1, step };
        cpu.adamw(state.p, grad, state.m, state.v, opts);
        g.adamw(dev.p, g.upload(grad), dev.m, dev.v, opts);
      }
      // Same float32 inputs and host-computed step scalars; f32 sqrt/div on the device: a few ulps.
      const tol: Tolerance = { atol: 1e-6, rtol: 2e-6 };
      await expectClose(dev.p, state.p, tol, 'param');
      await expectClose(dev.m, state.m, tol, 'm');
      await expectClose(dev.v, state.v, tol, 'v');
    });
  }

  it('a new lr or step reuses the compiled pipeline', async () => {
    const g = await gpu();
    const p = g.upload(randn([10], 1));
    const m = g.zeros('float32', [10]);
    const v = g.zeros('float32', [10]);
    g.adamw(p, g.upload(randn([10], 2)), m, v, OPTS);
    const compiled = g.ctx.pipelines.compiled;
    g.adamw(p, g.upload(randn([10], 3)), m, v, { ...OPTS, lr: 0.037, step: 2, weightDecay: 0.2 });
    await g.sync();
    expect(g.ctx.pipelines.compiled).toBe(compiled);
  });

  it('refuses host tensors for the in-place param / m / v', async () => {
    const g = await gpu();
    const z = () => g.zeros('float32', [3]);
    expect(() => g.adamw(Tensor.zeros('float32', [3]), z(), z(), z(), OPTS)).toThrow(/adamw: param .* must be a webgpu tensor/);
  });
});
