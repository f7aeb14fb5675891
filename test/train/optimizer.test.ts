/**
 * AdamW (src/train/optimizer.ts) against torch.optim.AdamW (test/fixtures/adamw_steps.json,
 * made by scripts/fixtures/adamw_steps.py with torch 1.13): two named parameters, three
 * steps, Trainer defaults and a decayed / scheduled case where one parameter skips a step.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { AdamW, ADAMW_DEFAULTS } from '../../src/train/optimizer.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';

interface After { param: number[]; m: number[]; v: number[]; step: number }
interface Case {
  name: string; beta1: number; beta2: number; eps: number; weightDecay: number;
  dims: Record<string, number[]>; init: Record<string, number[]>;
  steps: { lr: number; grads: Record<string, number[]>; after: Record<string, After> }[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/adamw_steps.json', import.meta.url), 'utf8')) as { cases: Case[] };

const t32 = (v: number[], dims: readonly number[]) => new Tensor('float32', Float32Array.from(v), dims);

/** max |got − want| / max(|want|, 1e-3): relative error, floored so tiny exp_avg_sq entries do not blow it up. */
function relErr(got: ArrayLike<number>, want: number[]): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-3));
  return worst;
}

async function runCase(b: Backend, c: Case): Promise<number[]> {
  const params = Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, b.upload(t32(v, c.dims[k]))]));
  const opt = new AdamW(b, params, { betas: [c.beta1, c.beta2], eps: c.eps, weightDecay: c.weightDecay });
  const worst = [0, 0, 0]; // param, m, v
  for (const [i, s] of c.steps.entries()) {
    const grads = Object.fromEntries(Object.entries(s.grads).map(([k, v]) => [k, b.upload(t32(v, c.dims[k]))]));
    opt.step(grads, s.lr);
    const state = await opt.state();
    for (const [k, want] of Object.entries(s.after)) {
      const errs = [relErr(await params[k].data<Float32Array>(), want.param), relErr(state[k].m, want.m), relErr(state[k].v, want.v)];
      expect(state[k].step, `${c.name} step ${i + 1} '${k}' step count`).toBe(want.step);
      expect(Math.max(...errs), `${c.name} step ${i + 1} '${k}' (param, m, v errors ${errs.map((e) => e.toExponential(2))})`).toBeLessThan(1e-6);
      errs.forEach((e, j) => (worst[j] = Math.max(worst[j], e)));
    }
  }
  opt.dispose();
  return worst;
}

function suite(backend: () => Promise<Backend>) {
  for (const c of fixture.cases) {
    it(`${c.name}: param, exp_avg, exp_avg_sq and step equal torch.optim.AdamW`, async () => {
      const b = await backend();
      const worst = await runCase(b, c);
      const [p, m, v] = worst.map((e) => e.toExponential(2));
      console.log(`[adamw] ${b.name} ${c.name}: worst relative error vs torch: param ${p}, exp_avg ${m}, exp_avg_sq ${v}`);
    });
  }

  it('state() / loadState(): a fresh optimizer continues bit-identically', async () => {
    const b = await backend();
    const c = fixture.cases[1];
    const mk = () => Object.fromEntries(Object.entries(c.init).map(([k, v]) => [k, b.upload(t32(v, c.dims[k]))]));
    const grads = (i: number) => Object.fromEntries(Object.entries(c.steps[i].grads).map(([k, v]) => [k, b.upload(t32(v, c.dims[k]))]));
    const cfg = { betas: [c.beta1, c.beta2] as const, eps: c.eps, weightDecay: c.weightDecay };
    const pa = mk();
    const a = new AdamW(b, pa, cfg);
    for (let i = 0; i < 3; i++) a.step(grads(i), c.steps[i].lr);
    const pb = mk();
    const first = new AdamW(b, pb, cfg);
    for (let i = 0; i < 2; i++) first.step(grads(i), c.steps[i].lr);
    const saved = await first.state();
    const second = new AdamW(b, pb, cfg);
    second.loadState(saved);
    second.step(grads(2), c.steps[2].lr);
    for (const k of Object.keys(pa)) expect(Array.from(await pb[k].data<Float32Array>()), k).toEqual(Array.from(await pa[k].data<Float32Array>()));
    expect((await second.state()).b.step).toBe(2); // 'b' skipped step 2
  });
}

describe('AdamW vs torch (cpu)', () => {
  suite(async () => new CpuBackend());

  it("defaults are transformers' Trainer defaults", () => {
    const opt = new AdamW(new CpuBackend(), {});
    expect([opt.lr, opt.beta1, opt.beta2, opt.eps, opt.weightDecay]).toEqual([5e-5, 0.9, 0.999, 1e-8, 0]);
    expect(ADAMW_DEFAULTS.lr).toBe(5e-5);
  });

  it('names bad inputs', async () => {
    const b = new CpuBackend();
    const opt = new AdamW(b, { w: Tensor.zeros('float32', [2]) });
    expect(() => opt.step({ x: Tensor.zeros('float32', [2]) })).toThrow(/gradient 'x' has no parameter/);
    expect(() => opt.step({ w: Tensor.zeros('float32', [3]) })).toThrow(/gradient 'w' is \[3\], its parameter \[2\]/);
    expect(() => opt.loadState({ w: { step: 1, m: new Float32Array(3), v: new Float32Array(3) } })).toThrow(/'w' has 2 elements/);
    expect(() => new AdamW(b, { w: Tensor.zeros('int32', [2]) })).toThrow(/parameter 'w' must be float32/);
  });
});

describe.skipIf(!hasWebGpu)('AdamW vs torch (webgpu)', () => {
  suite(gpu);

  it('refuses host parameters (they are updated in place)', async () => {
    const g = await gpu();
    expect(() => new AdamW(g, { w: Tensor.zeros('float32', [2]) })).toThrow(/lives on cpu but the backend is webgpu/);
  });
});
