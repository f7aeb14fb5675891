/** Gradient rules for elementwise ops: central differences on cpu, webgpu equal to cpu. */
import { describe, expect, it } from 'vitest';
import { GRAD_RULES } from '../../../src/graph/autodiff/rules/index.js';
import type { GradCall } from '../../../src/graph/autodiff/types.js';
import { opKey } from '../../../src/graph/coverage.js';
import type { Attrs } from '../../../src/graph/fold/hostOps.js';
import { deviceOp } from '../../../src/graph/ops/registry.js';
import type { Backend } from '../../../src/tensor/backend.js';
import { CpuBackend } from '../../../src/tensor/cpu/index.js';
import { Tensor, f32ToF16Bits } from '../../../src/tensor/tensor.js';
import type { WebGpuBackend } from '../../../src/tensor/webgpu/index.js';
import { checkRule } from '../../helpers/gradRule.js';
import { gpu, hasWebGpu } from '../../helpers/gpu.js';
import { randn, rng } from '../../helpers/numeric.js';

const dev = async () => (hasWebGpu ? gpu() : undefined);
const MS = 'com.microsoft';

/** Values with lo ≤ |v| < hi and random sign: away from the kinks at 0 (Relu, Abs). */
function signed(dims: readonly number[], seed: number, lo = 0.1, hi = 1): Tensor {
  const t = randn(dims, seed, lo, hi);
  const r = rng(seed + 7);
  const v = t.hostData<Float32Array>();
  for (let i = 0; i < v.length; i++) if (r() < 0.5) v[i] = -v[i];
  return t;
}

function bools(dims: readonly number[], seed: number): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), dims);
}

/** a (3, 5, 7) and b (5, 1) with every broadcast pair at least 0.1 apart: Max/Min away from ties. */
function separated(seed: number): [Tensor, Tensor] {
  const b = randn([5, 1], seed);
  const bv = b.hostData<Float32Array>();
  const gap = signed([3, 5, 7], seed + 1).hostData<Float32Array>();
  const a = new Float32Array(3 * 5 * 7);
  for (let i = 0; i < a.length; i++) a[i] = bv[Math.floor(i / 7) % 5] + gap[i];
  return [new Tensor('float32', a, [3, 5, 7]), b];
}

describe('binary ops with broadcasting', () => {
  for (const opType of ['Add', 'Sub', 'Mul', 'Div']) {
    it(`${opType} (3, 5, 7) ⊙ (5, 1)`, async () => {
      const b = opType === 'Div' ? randn([5, 1], 2, 0.5, 2) : randn([5, 1], 2);
      await checkRule({ opType, inputs: [randn([3, 5, 7], 1), b], wrt: [0, 1] }, await dev());
    });
  }
  it('Pow with a positive base', async () => {
    await checkRule({ opType: 'Pow', inputs: [randn([4, 9], 3, 0.5, 2), randn([9], 4)], wrt: [0, 1] }, await dev());
  });
  it('only the wanted input gets a gradient', async () => {
    await checkRule({ opType: 'Sub', inputs: [randn([2, 3], 5), randn([2, 3], 6)], wrt: [1] }, await dev());
  });
  for (const opType of ['Max', 'Min']) {
    it(`${opType} (3, 5, 7) ∘ (5, 1), inputs ≥ 0.1 apart`, async () => {
      await checkRule({ opType, inputs: separated(11), wrt: [0, 1] }, await dev());
    });
    it(`${opType} splits dy evenly on ties (as central differences do)`, async () => {
      const a = randn([3, 11], 12);
      const b = randn([3, 11], 13);
      const av = a.hostData<Float32Array>();
      const bv = b.hostData<Float32Array>();
      for (let i = 0; i < bv.length; i += 3) bv[i] = av[i];
      await checkRule({ opType, inputs: [a, b], wrt: [0, 1] }, await dev());
    });
  }
});

describe('unary ops', () => {
  const cases: [opType: string, x: Tensor][] = [
    ['Neg', randn([3, 5, 7], 21)],
    ['Reciprocal', signed([3, 5, 7], 22, 0.5, 2)],
    ['Sqrt', randn([3, 5, 7], 23, 0.5, 2)],
    ['Exp', randn([3, 5, 7], 24, -2, 2)],
    ['Log', randn([3, 5, 7], 25, 0.5, 3)],
    ['Tanh', randn([3, 5, 7], 26, -3, 3)],
    ['Erf', randn([3, 5, 7], 27, -2.5, 2.5)],
    ['Sigmoid', randn([3, 5, 7], 28, -4, 4)],
    ['Cos', randn([3, 5, 7], 29, -6, 6)],
    ['Sin', randn([3, 5, 7], 30, -6, 6)],
    ['Relu', signed([3, 5, 7], 31, 0.1, 2)],
    ['Abs', signed([3, 5, 7], 32, 0.1, 2)],
    ['Identity', randn([3, 5, 7], 33)],
  ];
  for (const [opType, x] of cases) {
    it(`${opType} (3, 5, 7)`, async () => {
      await checkRule({ opType, inputs: [x], wrt: [0] }, await dev());
    });
  }
  for (const approximate of ['none', 'tanh']) {
    it(`Gelu approximate='${approximate}' (opset 20)`, async () => {
      await checkRule({ opType: 'Gelu', opset: 20, attrs: { approximate }, inputs: [randn([5, 13], 34, -4, 4)], wrt: [0] }, await dev());
    });
  }
  it('Gelu without the attribute is the erf form', async () => {
    await checkRule({ opType: 'Gelu', opset: 20, inputs: [randn([3, 11], 35, -4, 4)], wrt: [0] }, await dev());
  });
});

describe('Where', () => {
  it('condition (5, 1), X (3, 5, 7), Y (7)', async () => {
    await checkRule({ opType: 'Where', inputs: [bools([5, 1], 41), randn([3, 5, 7], 42), randn([7], 43)], wrt: [1, 2] }, await dev());
  });
  it('condition (3, 5, 7), X (1), Y (5, 1)', async () => {
    await checkRule({ opType: 'Where', inputs: [bools([3, 5, 7], 44), randn([1], 45), randn([5, 1], 46)], wrt: [1, 2] }, await dev());
  });
  it('only Y wanted', async () => {
    await checkRule({ opType: 'Where', inputs: [bools([3, 5], 47), randn([3, 5], 48), randn([3, 5], 49)], wrt: [2] }, await dev());
  });
});

describe('Cast', () => {
  it('float32 → float32 passes dy', async () => {
    await checkRule({ opType: 'Cast', attrs: { to: 1 }, inputs: [randn([3, 5, 7], 51)], wrt: [0] }, await dev());
  });
  it('float32 → float16: the float16 (or float32) dy comes back as float32', async () => {
    const dy32 = randn([3, 5], 52);
    const dy16 = new Tensor('float16', Uint16Array.from(dy32.hostData<Float32Array>(), f32ToF16Bits), [3, 5]);
    const backends: Backend[] = hasWebGpu ? [cpu, await gpu()] : [cpu];
    for (const b of backends) {
      for (const dy of [dy16, dy32]) {
        const x = b.upload(randn([3, 5], 53));
        const dyOn = b.upload(dy);
        const [dx] = grads(b, 'Cast', [x], [dyOn], [true], { to: 10 });
        expect(dx!.dtype, `${b.name} ${dy.dtype} dy`).toBe('float32');
        expect(dx!.dims).toEqual([3, 5]);
        expect(Array.from(await dx!.toArray()), `${b.name} ${dy.dtype} dy`).toEqual(Array.from(await dy.toArray(), (v) => Math.fround(v)));
        for (const t of [x, dyOn, dx!]) if (t.location !== 'cpu') t.dispose();
      }
    }
  });
  it('float16 → float32: gradient for the float16 input', async () => {
    const x = new Tensor('float16', new Uint16Array(4).fill(f32ToF16Bits(0.5)), [4]);
    const [dx] = grads(cpu, 'Cast', [x], [randn([4], 54)], [true], { to: 1 });
    expect(dx!.dtype).toBe('float32');
  });
  it('to an integer or bool type, or from an integer input: no gradient', () => {
    for (const to of [6, 7, 9]) expect(grads(cpu, 'Cast', [randn([3], 55)], [randn([3], 56)], [true], { to })[0]).toBeUndefined();
    const ints = new Tensor('int32', Int32Array.of(1, 2, 3), [3]);
    expect(grads(cpu, 'Cast', [ints], [randn([3], 57)], [true], { to: 1 })[0]).toBeUndefined();
  });
});

describe('com.microsoft gelus', () => {
  it('FastGelu x (2, 3, 13) + bias (13)', async () => {
    await checkRule({ opType: 'FastGelu', domain: MS, inputs: [randn([2, 3, 13], 61, -3, 3), randn([13], 62)], wrt: [0, 1] }, await dev());
  });
  it('FastGelu without bias', async () => {
    await checkRule({ opType: 'FastGelu', domain: MS, inputs: [randn([5, 11], 63, -4, 4)], wrt: [0] }, await dev());
  });
  it('FastGelu: only the bias wanted', async () => {
    await checkRule({ opType: 'FastGelu', domain: MS, inputs: [randn([3, 9], 64, -3, 3), randn([9], 65)], wrt: [1] }, await dev());
  });
  it('BiasGelu x (2, 3, 13) + bias (13)', async () => {
    await checkRule({ opType: 'BiasGelu', domain: MS, inputs: [randn([2, 3, 13], 66, -3, 3), randn([13], 67)], wrt: [0, 1] }, await dev());
  });
  it('QuickGelu with the default alpha (1.702)', async () => {
    await checkRule({ opType: 'QuickGelu', domain: MS, inputs: [randn([3, 5, 7], 68, -4, 4)], wrt: [0] }, await dev());
  });
  for (const alpha of [1, -0.75]) {
    it(`QuickGelu alpha ${alpha}`, async () => {
      await checkRule({ opType: 'QuickGelu', domain: MS, attrs: { alpha }, inputs: [randn([5, 9], 69, -4, 4)], wrt: [0] }, await dev());
    });
  }
});

// ── direct rule calls: unwanted inputs, saves, device memory ──

const cpu = new CpuBackend();

/** Runs a rule as the tape would, with only its declared saves; frees what it owned. */
function grads(backend: Backend, opType: string, inputs: (Tensor | undefined)[], dOutputs: (Tensor | undefined)[], wants: boolean[], attrs: Attrs = {}, domain = '') {
  const rule = GRAD_RULES[opKey(domain, opType)]!;
  const where = `${opType} node 'test'`;
  const outputs = deviceOp(domain, opType)!({ backend, where, attrs, opset: 20, inputs, outputCount: 1 });
  const keep = (i: number, t: Tensor | undefined, list: readonly number[]) => (t && (t.location === 'cpu' || list.includes(i)) ? t : undefined);
  const call: GradCall = {
    backend,
    where,
    attrs,
    opset: 20,
    outputCount: 1,
    inputs: inputs.map((t, i) => keep(i, t, rule.saves.inputs)),
    inputDims: inputs.map((t) => t?.dims),
    outputs: outputs.map((t, k) => (rule.saves.outputs.includes(k) ? t : undefined)),
    dOutputs,
    wants,
  };
  const made: Tensor[] = [];
  const out = rule.grad(call, (t) => (t && made.push(t), t));
  for (const t of made) if (!out.includes(t)) t.dispose();
  for (const t of outputs) t?.dispose();
  return out;
}

interface DirectCase {
  opType: string;
  domain?: string;
  attrs?: Attrs;
  inputs: (Tensor | undefined)[];
  dy: readonly number[];
}

const DIRECT: DirectCase[] = [
  { opType: 'Where', inputs: [bools([5, 1], 71), randn([3, 5, 7], 72), randn([7], 73)], dy: [3, 5, 7] },
  { opType: 'Max', inputs: separated(74), dy: [3, 5, 7] },
  { opType: 'Min', inputs: separated(75), dy: [3, 5, 7] },
  { opType: 'FastGelu', domain: MS, inputs: [randn([2, 3, 13], 76), randn([13], 77)], dy: [2, 3, 13] },
  { opType: 'BiasGelu', domain: MS, inputs: [randn([2, 3, 13], 78), randn([13], 79)], dy: [2, 3, 13] },
  { opType: 'QuickGelu', domain: MS, inputs: [randn([3, 7], 80)], dy: [3, 7] },
  { opType: 'Exp', inputs: [randn([3, 7], 81)], dy: [3, 7] },
  { opType: 'Relu', inputs: [signed([3, 7], 82)], dy: [3, 7] },
  { opType: 'Neg', inputs: [randn([3, 7], 83)], dy: [3, 7] },
  { opType: 'Identity', inputs: [randn([3, 7], 84)], dy: [3, 7] },
  { opType: 'Cast', attrs: { to: 1 }, inputs: [randn([3, 7], 85)], dy: [3, 7] },
  { opType: 'Gelu', attrs: { approximate: 'tanh' }, inputs: [randn([3, 7], 86)], dy: [3, 7] },
];

/** Every subset of the float inputs: the one wanted input alone, or all of them. */
const wantSets = (c: DirectCase) => {
  const float = c.inputs.map((t) => t?.dtype === 'float32');
  return [float, ...float.map((f, i) => c.inputs.map((_, j) => f && j === i)).filter((w) => w.some(Boolean))];
};

describe('unwanted inputs and undefined dy', () => {
  for (const c of DIRECT) {
    it(`${c.opType}: a gradient exactly for each wanted input, none without dy`, () => {
      for (const wants of wantSets(c)) {
        const g = grads(cpu, c.opType, c.inputs, [randn(c.dy, 90)], wants, c.attrs, c.domain);
        c.inputs.forEach((x, i) => {
          if (wants[i]) expect(g[i]?.dims, `${c.opType} input ${i}`).toEqual(x!.dims);
          else expect(g[i], `${c.opType} input ${i} (not wanted)`).toBeUndefined();
        });
      }
      const none = grads(cpu, c.opType, c.inputs, [undefined], wantSets(c)[0], c.attrs, c.domain);
      expect(none.every((t) => t === undefined)).toBe(true);
    });
  }
});

describe.skipIf(!hasWebGpu)('device memory', () => {
  it('a rule frees every intermediate it made (webgpu pool back where it was)', async () => {
    const g = (await gpu()) as WebGpuBackend;
    for (const c of DIRECT) {
      const up = c.inputs.map((t) => (t && t.dtype === 'float32' ? g.upload(t) : t));
      const dy = g.upload(randn(c.dy, 91));
      for (const wants of wantSets(c)) {
        await g.sync();
        const before = g.ctx.pool.snapshot().liveBytes;
        const out = grads(g, c.opType, up, [dy], wants, c.attrs, c.domain);
        for (const t of out) t?.dispose();
        await g.sync();
        expect(g.ctx.pool.snapshot().liveBytes - before, `${c.opType} wants ${wants}: device bytes left`).toBe(0);
      }
      for (const t of [...up, dy]) if (t && t.location !== 'cpu') t.dispose();
    }
  });
});
