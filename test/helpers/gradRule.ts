/**
 * Checks one gradient rule (src/graph/autodiff/rules) on a single op:
 *   1. the op's forward (the executor's device op) runs on the cpu backend;
 *   2. L = Σ_k Σ output_k ⊙ w_k for fixed random w_k, so dOutputs = w;
 *   3. the rule's gradient for each input in `wrt` must equal central differences of L
 *      (numeric, float64 sums over the cpu backend's outputs);
 *   4. with a webgpu backend, the same rule on uploaded inputs must equal the cpu rule.
 */
import { expect } from 'vitest';
import { GRAD_RULES } from '../../src/graph/autodiff/rules/index.js';
import type { GradCall } from '../../src/graph/autodiff/types.js';
import { opKey } from '../../src/graph/coverage.js';
import type { Attrs } from '../../src/graph/fold/hostOps.js';
import { deviceOp } from '../../src/graph/ops/registry.js';
import type { Own } from '../../src/graph/ops/types.js';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { randn } from './numeric.js';

export interface RuleCase {
  opType: string;
  domain?: string;
  opset?: number;
  attrs?: Attrs;
  /** Forward inputs as host tensors; `undefined` for an omitted optional input. */
  inputs: (Tensor | undefined)[];
  /** Inputs whose gradient is checked (float32). */
  wrt: number[];
  /** Outputs the loss ignores: their dOutputs are `undefined` (the rule must treat them as zero). */
  unusedOutputs?: number[];
  outputCount?: number;
  /** Central-difference step (default 1e-3) and tolerance on max |a − n| / (1 + |n|) (default 2e-3). */
  eps?: number;
  tol?: number;
}

const cpu = new CpuBackend();

function forward(c: RuleCase, backend: Backend, inputs: (Tensor | undefined)[]): (Tensor | undefined)[] {
  const op = deviceOp(c.domain ?? '', c.opType);
  if (!op) throw new Error(`no device op ${c.opType}`);
  return op({ backend, where: `${c.opType} node 'test'`, attrs: c.attrs ?? {}, opset: c.opset ?? 21, inputs, outputCount: c.outputCount ?? 1 });
}

function runRule(c: RuleCase, backend: Backend, inputs: (Tensor | undefined)[], outputs: (Tensor | undefined)[], dOutputs: (Tensor | undefined)[]) {
  const rule = GRAD_RULES[opKey(c.domain ?? '', c.opType)];
  if (!rule) throw new Error(`no gradient rule registered for ${opKey(c.domain ?? '', c.opType)}`);
  const saved = (i: number, t: Tensor | undefined, list: readonly number[]) => (t && (t.location === 'cpu' || list.includes(i)) ? t : undefined);
  const call: GradCall = {
    backend,
    where: `${c.opType} node 'test'`,
    attrs: c.attrs ?? {},
    opset: c.opset ?? 21,
    outputCount: c.outputCount ?? outputs.length,
    inputs: inputs.map((t, i) => saved(i, t, rule.saves.inputs)),
    inputDims: inputs.map((t) => t?.dims),
    outputs: outputs.map((t, k) => (rule.saves.outputs.includes(k) ? t : undefined)),
    dOutputs,
    wants: inputs.map((_, i) => c.wrt.includes(i)),
  };
  const made: Tensor[] = [];
  const own: Own = (t) => (t && made.push(t), t);
  const grads = rule.grad(call, own);
  for (const t of made) if (!grads.includes(t)) t.dispose();
  return grads;
}

/** Σ_k Σ y_k ⊙ w_k in float64. */
async function lossOf(outs: (Tensor | undefined)[], ws: (Float32Array | undefined)[]): Promise<number> {
  let s = 0;
  for (let k = 0; k < ws.length; k++) {
    const w = ws[k];
    const y = outs[k];
    if (!w || !y) continue;
    const v = await y.toArray();
    for (let i = 0; i < w.length; i++) s += v[i] * w[i];
  }
  return s;
}

export async function checkRule(c: RuleCase, gpu?: Backend): Promise<void> {
  const outs = forward(c, cpu, c.inputs);
  const ws = outs.map((y, k) => (y && y.dtype === 'float32' && !c.unusedOutputs?.includes(k) ? randn(y.dims, 1000 + k).hostData<Float32Array>() : undefined));
  const dOut = outs.map((y, k) => (ws[k] ? new Tensor('float32', ws[k]!, y!.dims) : undefined));
  const grads = runRule(c, cpu, c.inputs, outs, dOut);
  const eps = c.eps ?? 1e-3;
  for (const i of c.wrt) {
    const x = c.inputs[i]!;
    const g = grads[i];
    expect(g, `${c.opType}: gradient of input ${i}`).toBeDefined();
    expect(g!.dims, `${c.opType}: gradient of input ${i} dims`).toEqual(x.dims);
    const analytic = await g!.toArray();
    const base = x.hostData<Float32Array>();
    let worst = 0;
    for (let e = 0; e < base.length; e++) {
      const at = (d: number) => {
        const v = Float32Array.from(base);
        v[e] += d;
        return c.inputs.map((t, j) => (j === i ? new Tensor('float32', v, x.dims) : t));
      };
      const numeric = ((await lossOf(forward(c, cpu, at(eps)), ws)) - (await lossOf(forward(c, cpu, at(-eps)), ws))) / (2 * eps);
      worst = Math.max(worst, Math.abs(analytic[e] - numeric) / (1 + Math.abs(numeric)));
    }
    expect(worst, `${c.opType}: input ${i} analytic vs central differences`).toBeLessThan(c.tol ?? 2e-3);
  }
  if (!gpu) return;
  const up = c.inputs.map((t) => (t && t.dtype === 'float32' ? gpu.upload(t) : t));
  const gOuts = forward(c, gpu, up);
  const gdOut = dOut.map((t) => t && gpu.upload(t));
  const gGrads = runRule(c, gpu, up, gOuts, gdOut);
  for (const i of c.wrt) {
    const want = await grads[i]!.toArray();
    const got = await gGrads[i]!.toArray();
    let err = 0;
    let scale = 0;
    for (let e = 0; e < want.length; e++) {
      err = Math.max(err, Math.abs(got[e] - want[e]));
      scale = Math.max(scale, Math.abs(want[e]));
    }
    expect(err / (scale || 1), `${c.opType}: webgpu vs cpu gradient of input ${i}`).toBeLessThan(1e-4);
  }
  for (const t of [...up, ...gOuts, ...gdOut, ...gGrads]) if (t && t.location !== 'cpu') t.dispose();
}
