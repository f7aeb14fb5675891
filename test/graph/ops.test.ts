/**
 * Graph ops node by node against onnxruntime-web (wasm): each case is a one-node model
 * (test/helpers/onnxModel.ts) run by onnxruntime and by our Executor on the cpu and
 * webgpu backends. Float outputs must agree within 1e-5 of the output's scale (max |diff|
 * / max |ref|); integer outputs exactly. The worst error per op and backend is printed.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Executor } from '../../src/graph/executor.js';
import * as F from '../../src/graph/ops/fallback.js';
import type { OpCall } from '../../src/graph/ops/types.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { packInt4, Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectNoLeak } from '../helpers/leaks.js';
import { randInt, randn, rng } from '../helpers/numeric.js';
import { nodeModel, runOnnx, type NodeModelSpec } from '../helpers/onnxModel.js';
import { scaleError } from '../helpers/ort.js';

const TOL = 1e-5;
const worst = new Map<string, number>();

afterAll(() => {
  for (const [k, v] of [...worst].sort()) console.log(`[ops] ${k}: max error / scale = ${v.toExponential(2)}`);
});

type GetBackend = () => Promise<Backend>;

/** One describe per backend inside an op's describe; webgpu only with an adapter. */
function eachBackend(body: (name: string, get: GetBackend) => void): void {
  describe('cpu', () => body('cpu', async () => new CpuBackend()));
  describe.skipIf(!hasWebGpu)('webgpu', () => body('webgpu', gpu));
}

const int64 = (v: number[], dims: number[] = [v.length]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
const int32 = (v: number[], dims: number[] = [v.length]) => new Tensor('int32', Int32Array.from(v), dims);
const f32 = (v: number[], dims: number[] = [v.length]) => new Tensor('float32', Float32Array.from(v), dims);
const bytes = (dims: number[], seed: number, lo = 0, hi = 256) => {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('uint8', Uint8Array.from({ length: n }, () => lo + Math.floor(r() * (hi - lo))), dims);
};
const int8 = (dims: number[], seed: number) => new Tensor('int8', Int8Array.from(bytes(dims, seed).hostData<Uint8Array>()), dims);
const int4 = (dims: number[], seed: number) => {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('int4', packInt4(Array.from({ length: n }, () => Math.floor(r() * 16) - 8)), dims);
};

interface Check {
  /** Which outputs to compare (default all), and an optional row filter per output. */
  only?: string[];
  select?: (name: string, i: number) => boolean;
  /** Feeds for our executor when they differ from onnxruntime's (device tensors). */
  ourFeeds?: Record<string, Tensor>;
}

/**
 * Runs the node in onnxruntime and in our Executor; compares every output; returns ours.
 * On webgpu a second run must free everything but its outputs (see expectNoLeak).
 */
async function parity(key: string, spec: NodeModelSpec, feeds: Record<string, Tensor>, backend: Backend, check: Check = {}): Promise<Record<string, Tensor>> {
  const model = nodeModel(spec);
  const want = await runOnnx(model, feeds);
  const exec = new Executor(await readOnnxModel(model), backend);
  const got = await exec.run(check.ourFeeds ?? feeds);
  await expectNoLeak(`${key} (${spec.opType})`, exec, check.ourFeeds ?? feeds, backend);
  for (const name of check.only ?? Object.keys(spec.outputs)) {
    const [g, w] = [got[name], want[name]];
    expect(g.dims, `${key} ${name}: dims`).toEqual(w.dims);
    let [a, r] = [await g.toArray(), await w.toArray()];
    if (check.select) {
      a = a.filter((_, i) => check.select!(name, i));
      r = r.filter((_, i) => check.select!(name, i));
    }
    const tag = `${backend.name} ${spec.opType}`;
    if (w.dtype === 'float32') {
      const err = scaleError(a, r);
      worst.set(tag, Math.max(worst.get(tag) ?? 0, err));
      expect(err, `${key} ${name}: max error / scale`).toBeLessThan(TOL);
    } else {
      expect(a, `${key} ${name}: exact`).toEqual(r);
    }
  }
  return got;
}

// ── Einsum ──────────────────────────────────────────────────────

describe('Einsum', () => {
  const cases: [string, number[][]][] = [
    ['bij,bjk->bik', [[3, 5, 7], [3, 7, 4]]],
    ['bhqd,bhkd->bhqk', [[2, 3, 5, 8], [2, 3, 6, 8]]],
    ['bhid,bhjd->bhij', [[1, 2, 7, 3], [1, 2, 5, 3]]],
    ['bnqk,bnkd->bnqd', [[2, 3, 5, 6], [2, 3, 6, 7]]],
    ['i,j->ij', [[5], [7]]],
    ['...ij,...jk->...ik', [[2, 3, 4, 5], [2, 3, 5, 6]]],
    ['...ij,...jk->...ik', [[2, 3, 4, 5], [1, 3, 5, 6]]], // ellipsis dims broadcast
    ['ij->ji', [[5, 7]]],
    ['ij->i', [[5, 7]]],
    ['bij,jk->bik', [[2, 3, 5], [5, 9]]],
    ['bji,bjk->bik', [[2, 5, 3], [2, 5, 4]]], // transA
    ['ij,kj->ik', [[3, 7], [5, 7]]], // transB, no batch
    ['ij,jk', [[4, 6], [6, 3]]], // implicit output 'ik'
    ['i,i->', [[13], [13]]], // dot product to a scalar
    ['ij,ij->ij', [[3, 7], [3, 7]]],
    ['bhqd,bkhd->bhqk', [[2, 3, 4, 5], [2, 6, 3, 5]]], // needs a transpose of the second operand
    ['abc,cd,de->abe', [[2, 3, 4], [4, 5], [5, 6]]],
  ];
  eachBackend((_, get) => {
    for (const [eq, shapes] of cases) {
      it(`'${eq}' on ${shapes.map((s) => `[${s}]`).join(', ')}`, async () => {
        const inputs = Object.fromEntries(shapes.map((d, i) => [`x${i}`, randn(d, 11 + i)]));
        await parity(eq, { opType: 'Einsum', opset: 12, inputs, outputs: { y: 'float32' }, attributes: { equation: eq } }, inputs, await get());
      });
    }
    it('names the equation it cannot handle (diagonals)', async () => {
      const x0 = randn([3, 3], 1);
      const model = nodeModel({ opType: 'Einsum', opset: 12, inputs: { x0 }, outputs: { y: 'float32' }, attributes: { equation: 'ii->i' } });
      const exec = new Executor(await readOnnxModel(model), await get());
      await expect(exec.run({ x0 })).rejects.toThrow(/Einsum 'ii->i'.*repeats within one term/);
    });
  });
});

// ── DequantizeLinear ────────────────────────────────────────────

describe('DequantizeLinear', () => {
  eachBackend((_, get) => {
    it('int8 per tensor with a zero point (x fed at run time)', async () => {
      const x = int8([5, 7], 1);
      const spec = { opType: 'DequantizeLinear', inputs: { x }, initializers: { s: f32([0.037], []), z: new Tensor('int8', [3], []) }, outputs: { y: 'float32' as const } };
      await parity('per tensor', spec, { x }, await get());
    });
    it('uint8 per axis 0 and int8 per axis -1', async () => {
      const b = await get();
      const x = bytes([5, 7], 2);
      const s = randn([5], 3, 0.01, 0.1);
      await parity('axis 0', { opType: 'DequantizeLinear', inputs: { x }, initializers: { s, z: bytes([5], 4) }, outputs: { y: 'float32' }, attributes: { axis: 0 } }, { x }, b);
      const x2 = int8([3, 4, 9], 5);
      const s2 = randn([9], 6, 0.01, 0.1);
      await parity('axis -1', { opType: 'DequantizeLinear', inputs: { x: x2 }, initializers: { s: s2, z: int8([9], 7) }, outputs: { y: 'float32' }, attributes: { axis: -1 } }, { x: x2 }, b);
    });
    it('int4 blocked along axis 1 (opset 21, block 4 over 10 columns), all constant', async () => {
      const spec: NodeModelSpec = {
        opType: 'DequantizeLinear',
        initializers: { x: int4([6, 10], 8), s: randn([6, 3], 9, 0.01, 0.1), z: int4([6, 3], 10) },
        outputs: { y: 'float32' },
        attributes: { axis: 1, block_size: 4 },
      };
      await parity('blocked int4', spec, {}, await get());
    });
    it('uint8 blocked along axis 0 without a zero point', async () => {
      const x = bytes([7, 3], 11);
      const spec: NodeModelSpec = { opType: 'DequantizeLinear', inputs: { x }, initializers: { s: randn([3, 3], 12, 0.01, 0.1) }, outputs: { y: 'float32' }, attributes: { axis: 0, block_size: 3 } };
      await parity('blocked uint8', spec, { x }, await get());
    });
    it('opset 11 (per tensor only) and int32 x', async () => {
      const b = await get();
      const x = bytes([4, 9], 13);
      await parity('opset 11', { opType: 'DequantizeLinear', opset: 11, inputs: { x }, initializers: { s: f32([0.02], []), z: new Tensor('uint8', [128], []) }, outputs: { y: 'float32' } }, { x }, b);
      const xi = randInt([3, 5], 14, -100000, 100000);
      await parity('int32', { opType: 'DequantizeLinear', inputs: { x: xi }, initializers: { s: randn([5], 15, 0.001, 0.01) }, outputs: { y: 'float32' }, attributes: { axis: 1 } }, { x: xi }, b);
    });
  });
});

// ── MatMulNBits ─────────────────────────────────────────────────

/** A (…, K) fed, packed B / scales / zero points / bias as initializers; K not a multiple of the block. */
function nbitsSpec(bits: number, K: number, N: number, block: number, opts: { zp?: 'packed' | 'none'; bias?: boolean; a: Tensor }): NodeModelSpec {
  const blocks = Math.ceil(K / block);
  const inits: Record<string, Tensor> = {
    B: bytes([N, blocks, (block * bits) / 8], 20 + bits),
    scales: randn([N * blocks], 21, 0.005, 0.05),
  };
  const names = ['A', 'B', 'scales'];
  if (opts.zp === 'packed') {
    inits.zp = bytes([N * Math.ceil((blocks * bits) / 8)], 22);
    names.push('zp');
  } else names.push('');
  if (opts.bias) {
    inits.bias = randn([N], 23);
    names.push('', 'bias');
  }
  while (names[names.length - 1] === '') names.pop();
  return {
    opType: 'MatMulNBits', domain: 'com.microsoft', inputs: { A: opts.a }, initializers: inits, nodeInputs: names,
    outputs: { Y: 'float32' }, attributes: { K, N, bits, block_size: block },
  };
}

describe('MatMulNBits', () => {
  eachBackend((_, get) => {
    it('4-bit, packed zero points, bias: A (2, 3, 40) · W (11, 40)ᵀ, block 16', async () => {
      const a = randn([2, 3, 40], 30);
      await parity('4-bit', nbitsSpec(4, 40, 11, 16, { zp: 'packed', bias: true, a }), { A: a }, await get());
    });
    it('4-bit, default zero point: A (5, 33), block 32', async () => {
      const a = randn([5, 33], 31);
      await parity('4-bit no zp', nbitsSpec(4, 33, 7, 32, { a }), { A: a }, await get());
    });
    it('8-bit, packed zero points: A (3, 50), block 16', async () => {
      const a = randn([3, 50], 32);
      await parity('8-bit', nbitsSpec(8, 50, 6, 16, { zp: 'packed', a }), { A: a }, await get());
    });
  });
});

describe('constant weights are dequantized once, not per run', () => {
  eachBackend((_, get) => {
    it('MatMulNBits (the node runs each time; its weight is cached by B)', async () => {
      const backend = await get();
      const spy = vi.spyOn(backend, 'dequantizeBlockwise');
      try {
        const a = randn([2, 40], 33);
        const exec = new Executor(await readOnnxModel(nodeModel(nbitsSpec(4, 40, 11, 16, { zp: 'packed', a }))), backend);
        const first = await (await exec.run({ A: a })).Y.toArray();
        const second = await (await exec.run({ A: randn([2, 40], 34) })).Y.toArray();
        const third = await (await exec.run({ A: a })).Y.toArray();
        expect(third).toEqual(first);
        expect(second).not.toEqual(first);
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
    });
    it('DequantizeLinear of an initializer (a const node, folded by the executor)', async () => {
      const backend = await get();
      const spy = vi.spyOn(backend, 'dequantize');
      try {
        const model = nodeModel({
          opType: 'DequantizeLinear', initializers: { x: int8([6, 5], 36), s: f32([0.05], []) }, outputs: { y: 'float32' },
        });
        const exec = new Executor(await readOnnxModel(model), backend);
        await exec.run({});
        await exec.run({});
        expect(spy).toHaveBeenCalledTimes(1);
      } finally {
        spy.mockRestore();
      }
    });
  });
});

// ── CumSum and ScatterND ────────────────────────────────────────

describe('CumSum', () => {
  eachBackend((name, get) => {
    const cases: [string, Tensor, number, number, number][] = [
      ['float32 (4, 37) axis 1', randn([4, 37], 40), 1, 0, 0],
      ['float32 (3, 5, 7) axis 0 exclusive reverse', randn([3, 5, 7], 41), 0, 1, 1],
      ['int32 (3, 5, 7) axis -2 exclusive', randInt([3, 5, 7], 42, -50, 50), -2, 1, 0],
      ['float32 (2, 67) axis -1 reverse', randn([2, 67], 43), -1, 0, 1],
    ];
    for (const [what, x, axis, exclusive, reverse] of cases) {
      it(what, async () => {
        const spec: NodeModelSpec = { opType: 'CumSum', inputs: { x }, initializers: { axis: int64([axis], []) }, outputs: { y: x.dtype }, attributes: { exclusive, reverse } };
        await parity(what, spec, { x }, await get());
      });
    }
    // webgpu narrows int64 to int32 on upload (src/tensor/webgpu/storage.ts), so only cpu keeps int64.
    if (name === 'cpu') {
      it('int64 position ids from an attention mask', async () => {
        const x = int64([1, 1, 1, 0, 0, 1, 1, 1], [2, 4]);
        const spec: NodeModelSpec = { opType: 'CumSum', inputs: { x }, initializers: { axis: int32([1], []) }, outputs: { y: 'int64' } };
        await parity('int64', spec, { x }, await get());
      });
    }
  });
});

describe('ScatterND', () => {
  eachBackend((_, get) => {
    it('float32 (5, 7, 3), slices at int64 (4, 2) indices, one negative', async () => {
      const data = randn([5, 7, 3], 50);
      const updates = randn([4, 3], 51);
      const spec: NodeModelSpec = { opType: 'ScatterND', inputs: { data, updates }, initializers: { indices: int64([0, 1, 4, 6, -1, 0, 2, 2], [4, 2]) }, nodeInputs: ['data', 'indices', 'updates'], outputs: { y: 'float32' } };
      await parity('none', spec, { data, updates }, await get());
    });
    it("reduction 'add' with repeated rows (indices (2, 3, 1) fed)", async () => {
      const data = randn([6, 5], 52);
      const updates = randn([2, 3, 5], 53);
      const indices = int64([1, 4, 1, 0, 4, 1], [2, 3, 1]);
      const spec: NodeModelSpec = { opType: 'ScatterND', inputs: { data, indices, updates }, outputs: { y: 'float32' }, attributes: { reduction: 'add' } };
      await parity('add', spec, { data, indices, updates }, await get());
    });
    it('int32 data, element updates (k = rank)', async () => {
      const data = randInt([3, 4], 54, -9, 9);
      const updates = randInt([3], 55, 100, 200);
      const indices = int64([0, 0, 2, 3, 1, 2], [3, 2]);
      const spec: NodeModelSpec = { opType: 'ScatterND', inputs: { data, indices, updates }, outputs: { y: 'int32' } };
      await parity('int32', spec, { data, indices, updates }, await get());
    });
  });
});

// ── GroupQueryAttention ─────────────────────────────────────────

interface GqaCase {
  name: string;
  B: number;
  S: number;
  /** past length given (0: no past inputs) and total length. */
  P: number;
  T: number;
  N: number;
  Nkv: number;
  H: number;
  seqlens?: number[];
  rotary?: { half: number; interleaved: boolean };
  packed?: boolean;
  attrs?: Record<string, number | { float: number }>;
}

function gqaSpec(g: GqaCase): { spec: NodeModelSpec; feeds: Record<string, Tensor> } {
  const feeds: Record<string, Tensor> = {};
  const inits: Record<string, Tensor> = {};
  const names: string[] = [];
  const add = (name: string, t: Tensor | undefined, init = false) => {
    if (!t) return void names.push('');
    (init ? inits : feeds)[name] = t;
    names.push(name);
  };
  const qw = g.packed ? (g.N + 2 * g.Nkv) * g.H : g.N * g.H;
  add('query', randn([g.B, g.S, qw], 60));
  add('key', g.packed ? undefined : randn([g.B, g.S, g.Nkv * g.H], 61));
  add('value', g.packed ? undefined : randn([g.B, g.S, g.Nkv * g.H], 62));
  add('past_key', g.P ? randn([g.B, g.Nkv, g.P, g.H], 63) : undefined);
  add('past_value', g.P ? randn([g.B, g.Nkv, g.P, g.H], 64) : undefined);
  add('seqlens_k', int32(g.seqlens ?? Array(g.B).fill(g.T - 1)));
  add('total_sequence_length', int32([g.T], []));
  if (g.rotary) {
    // Angle tables as a model exporter builds them: θ_i = pos / 10000^(2i / rotary_dim).
    const maxPos = g.T + 3;
    const ang = (p: number, i: number) => p / 10000 ** ((2 * i) / (2 * g.rotary!.half));
    const table = (fn: (x: number) => number) => f32(Array.from({ length: maxPos * g.rotary!.half }, (_, k) => fn(ang(Math.floor(k / g.rotary!.half), k % g.rotary!.half))), [maxPos, g.rotary!.half]);
    add('cos_cache', table(Math.cos), true);
    add('sin_cache', table(Math.sin), true);
  }
  while (names[names.length - 1] === '') names.pop();
  const attributes: Record<string, number | { float: number }> = { num_heads: g.N, kv_num_heads: g.Nkv, ...g.attrs };
  if (g.rotary) Object.assign(attributes, { do_rotary: 1, rotary_interleaved: g.rotary.interleaved ? 1 : 0 });
  const spec: NodeModelSpec = {
    opType: 'GroupQueryAttention', domain: 'com.microsoft', inputs: feeds, initializers: inits, nodeInputs: names,
    outputs: { output: 'float32', present_key: 'float32', present_value: 'float32' }, attributes,
  };
  return { spec, feeds };
}

describe('GroupQueryAttention', () => {
  const cases: GqaCase[] = [
    { name: 'prompt, no past (B 2, S = T = 5, 4 heads over 2 KV heads)', B: 2, S: 5, P: 0, T: 5, N: 4, Nkv: 2, H: 16 },
    { name: 'decode one token after a past of 4', B: 2, S: 1, P: 4, T: 5, N: 4, Nkv: 2, H: 16 },
    { name: 'continue 3 tokens after a past of 4 (B 1), custom scale', B: 1, S: 3, P: 4, T: 7, N: 6, Nkv: 2, H: 8, attrs: { scale: { float: 0.3 } } },
    { name: 'decode into a longer shared-size past buffer (P 8, T 5)', B: 2, S: 1, P: 8, T: 5, N: 2, Nkv: 1, H: 16 },
    { name: 'rotary, decode', B: 2, S: 1, P: 4, T: 5, N: 4, Nkv: 2, H: 16, rotary: { half: 8, interleaved: false } },
    { name: 'rotary interleaved, prompt', B: 1, S: 6, P: 0, T: 6, N: 2, Nkv: 2, H: 16, rotary: { half: 8, interleaved: true } },
    { name: 'partial rotary (16 of 32), continue 2 after 3', B: 1, S: 2, P: 3, T: 5, N: 2, Nkv: 1, H: 32, rotary: { half: 8, interleaved: false } },
    { name: 'packed QKV with rotary, decode', B: 2, S: 1, P: 3, T: 4, N: 4, Nkv: 1, H: 16, packed: true, rotary: { half: 8, interleaved: false } },
    { name: 'local window 2, prompt', B: 1, S: 6, P: 0, T: 6, N: 2, Nkv: 1, H: 8, attrs: { local_window_size: 2 } },
    { name: 'local window 3, continue 2 after 5', B: 1, S: 2, P: 5, T: 7, N: 2, Nkv: 1, H: 8, attrs: { local_window_size: 3 } },
    { name: 'softcap 1.5, decode', B: 1, S: 1, P: 5, T: 6, N: 2, Nkv: 1, H: 8, attrs: { softcap: { float: 1.5 } } },
  ];
  eachBackend((name, get) => {
    for (const g of cases) {
      it(g.name, async () => {
        const { spec, feeds } = gqaSpec(g);
        await parity(g.name, spec, feeds, await get());
      });
    }
    it('prompt with right-padded rows (seqlens_k [4, 2]): valid rows match', async () => {
      const g: GqaCase = { name: 'padded', B: 2, S: 5, P: 0, T: 5, N: 2, Nkv: 1, H: 8, seqlens: [4, 2] };
      const { spec, feeds } = gqaSpec(g);
      // onnxruntime leaves the rows past a sequence's end undefined; compare the rest.
      const rowOk = (i: number) => Math.floor(i / (g.S * g.N * g.H)) === 0 || Math.floor(i / (g.N * g.H)) % g.S <= 2;
      const backend = await get();
      const ourFeeds = name === 'webgpu' ? { ...feeds, seqlens_k: backend.upload(feeds.seqlens_k) } : feeds;
      await parity('padded', spec, feeds, backend, { select: (out, i) => out !== 'output' || rowOk(i), ourFeeds });
    });
    it('refuses rows of different lengths after a past', async () => {
      const { spec, feeds } = gqaSpec({ name: '', B: 2, S: 1, P: 4, T: 5, N: 2, Nkv: 1, H: 8, seqlens: [4, 3] });
      const exec = new Executor(await readOnnxModel(nodeModel(spec)), await get());
      await expect(exec.run(feeds)).rejects.toThrow(/GroupQueryAttention.*different lengths.*\[4, 3\]/);
    });
  });
});

// ── The contrib helpers GroupQueryAttention shares (rotary, attention) ──

describe('RotaryEmbedding and MultiHeadAttention (helpers shared with GroupQueryAttention)', () => {
  eachBackend((_, get) => {
    it('RotaryEmbedding, (B, N, S, D) input with int64 position ids', async () => {
      const x = randn([2, 3, 5, 16], 80);
      const pos = int64([0, 1, 2, 3, 4, 3, 4, 5, 6, 7], [2, 5]);
      const spec: NodeModelSpec = {
        opType: 'RotaryEmbedding', domain: 'com.microsoft', inputs: { x, pos },
        initializers: { cos: randn([9, 8], 81), sin: randn([9, 8], 82) }, outputs: { y: 'float32' },
      };
      await parity('rotary', spec, { x, pos }, await get());
    });
    it('MultiHeadAttention with past key/value', async () => {
      const [B, S, P, N, H] = [2, 3, 4, 2, 8];
      const feeds = {
        q: randn([B, S, N * H], 83), k: randn([B, S, N * H], 84), v: randn([B, S, N * H], 85),
        pk: randn([B, N, P, H], 86), pv: randn([B, N, P, H], 87),
      };
      const spec: NodeModelSpec = {
        opType: 'MultiHeadAttention', domain: 'com.microsoft', inputs: feeds, nodeInputs: ['q', 'k', 'v', '', '', '', 'pk', 'pv'],
        outputs: { y: 'float32', present_key: 'float32', present_value: 'float32' }, attributes: { num_heads: N },
      };
      await parity('mha', spec, feeds, await get());
    });
    it('Attention (fused GPT-2 form) with a scale attribute and past', async () => {
      const [B, S, P, N, H] = [2, 3, 2, 2, 4];
      const feeds = { x: randn([B, S, N * H], 88), past: randn([2, B, N, P, H], 89) };
      const spec: NodeModelSpec = {
        opType: 'Attention', domain: 'com.microsoft', inputs: feeds,
        initializers: { w: randn([N * H, 3 * N * H], 97), bias: randn([3 * N * H], 98) }, nodeInputs: ['x', 'w', 'bias', '', 'past'],
        outputs: { y: 'float32', present: 'float32' }, attributes: { num_heads: N, unidirectional: 1, scale: { float: 0.2 } },
      };
      await parity('attention', spec, feeds, await get());
    });
  });
});

// ── Ops that compose backend ops (their intermediates must be freed) ──

describe('ops built from several backend ops (device inputs on webgpu)', () => {
  const x = randn([2, 3, 8], 90);
  const y = 'float32' as const;
  const ms = 'com.microsoft';
  const cases: [string, NodeModelSpec][] = [
    ['Gemm, beta 2 with a 2-D C', {
      opType: 'Gemm', inputs: { a: randn([3, 4], 91) }, initializers: { b: randn([5, 4], 92), c: randn([3, 5], 93) }, outputs: { y },
      attributes: { transB: 1, alpha: 0.5, beta: { float: 2 } },
    }],
    ['Softmax on axis 1', { opType: 'Softmax', inputs: { x }, outputs: { y }, attributes: { axis: 1 } }],
    ['LayerNormalization from axis 1, with Mean and InvStdDev', {
      opType: 'LayerNormalization', opset: 17, inputs: { x }, initializers: { s: randn([3, 8], 94), b: randn([3, 8], 95) },
      outputs: { y, mean: 'float32', invStd: 'float32' }, attributes: { axis: 1 },
    }],
    ['Tile (2, 3, 8) by (2, 1, 3)', { opType: 'Tile', inputs: { x }, initializers: { r: int64([2, 1, 3]) }, outputs: { y } }],
    ['Cast to its own dtype', { opType: 'Cast', inputs: { x }, outputs: { y }, attributes: { to: 1 } }],
    ['ReduceSum with no axes, noop_with_empty_axes', { opType: 'ReduceSum', inputs: { x }, outputs: { y }, attributes: { noop_with_empty_axes: 1 } }],
    ['Identity', { opType: 'Identity', inputs: { x }, outputs: { y } }],
    ['QuickGelu', { opType: 'QuickGelu', domain: ms, inputs: { x }, outputs: { y }, attributes: { alpha: { float: 1.5 } } }],
    ['BiasGelu', { opType: 'BiasGelu', domain: ms, inputs: { x }, initializers: { bias: randn([8], 96) }, outputs: { y } }],
    ['FastGelu with bias', { opType: 'FastGelu', domain: ms, inputs: { x }, initializers: { bias: randn([8], 96) }, outputs: { y } }],
    ['SkipLayerNormalization with bias', {
      opType: 'SkipLayerNormalization', domain: ms, inputs: { x, skip: randn([2, 3, 8], 97) },
      initializers: { gamma: randn([8], 98), beta: randn([8], 99), bias: randn([8], 100) }, outputs: { y },
    }],
    ['SkipSimplifiedLayerNormalization with bias', {
      opType: 'SkipSimplifiedLayerNormalization', domain: ms, inputs: { x, skip: randn([2, 3, 8], 97) },
      initializers: { gamma: randn([8], 98), bias: randn([8], 100) }, outputs: { y },
    }],
  ];
  eachBackend((name, get) => {
    for (const [what, spec] of cases) {
      it(what, async () => {
        const backend = await get();
        const feeds = spec.inputs!;
        // Host feeds this small would be folded on the host; device feeds reach the device op.
        const ourFeeds = name === 'webgpu' ? Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, backend.upload(t)])) : feeds;
        await parity(what, spec, feeds, backend, { ourFeeds });
        if (ourFeeds !== feeds) for (const t of Object.values(ourFeeds)) t.dispose();
      });
    }
  });
});

// ── Device fallbacks: Range, ConstantOfShape, Trilu ─────────────

/** Calls a device op directly, as the executor would with these inputs. */
function call(backend: Backend, inputs: (Tensor | undefined)[], attrs: Record<string, unknown> = {}): OpCall {
  return { backend, where: 'test node', attrs, opset: 21, inputs, outputCount: 1 };
}

describe('Trilu (device)', () => {
  eachBackend((name, get) => {
    // On cpu, (2, 131, 67) is past the host-folding limit, so the executor takes the device op.
    const cases: [string, number[], number | undefined, number][] = [
      ['upper, k = 1', [2, 131, 67], 1, 1],
      ['lower, k = -2', [2, 131, 67], -2, 0],
      ['upper, no k, wide', [3, 5, 9], undefined, 1],
    ];
    for (const [what, dims, k, upper] of cases) {
      it(`${what}, ${JSON.stringify(dims)}`, async () => {
        const backend = await get();
        const x = randn(dims, 70);
        const spec: NodeModelSpec = {
          opType: 'Trilu', inputs: { x }, initializers: k === undefined ? {} : { k: int64([k], []) }, outputs: { y: 'float32' }, attributes: { upper },
        };
        // On webgpu a device-resident x reaches the device op whatever its size.
        await parity(what, spec, { x }, backend, { ourFeeds: name === 'webgpu' ? { x: backend.upload(x) } : { x } });
      });
    }
  });
});

describe('Range and ConstantOfShape (device)', () => {
  eachBackend((name, get) => {
    it('Range with host inputs computes on the host and uploads', async () => {
      const backend = await get();
      for (const [s, l, d] of [[2, 17, 3], [10, -3, -4]]) {
        const feeds = { s: int64([s], []), l: int64([l], []), d: int64([d], []) };
        const { y } = await runOnnx(nodeModel({ opType: 'Range', inputs: feeds, outputs: { y: 'int64' } }), feeds);
        const [got] = F.range(call(backend, [feeds.s, feeds.l, feeds.d]));
        expect(got!.location).toBe(backend.name);
        expect(await got!.toArray()).toEqual(await y.toArray());
      }
    });
    it('ConstantOfShape with a host shape computes on the host and uploads', async () => {
      const backend = await get();
      const shape = int64([3, 1, 5]);
      const value = f32([2.5], [1]);
      const { y } = await runOnnx(nodeModel({ opType: 'ConstantOfShape', inputs: { shape }, outputs: { y: 'float32' }, attributes: {} }), { shape });
      expect(await y.toArray()).toEqual(Array(15).fill(0));
      const [got] = F.constantOfShape(call(backend, [shape], { value }));
      expect(got!.dims).toEqual([3, 1, 5]);
      expect(await got!.toArray()).toEqual(Array(15).fill(2.5));
    });
    if (name === 'webgpu') {
      it('a device-computed shape or range bound is refused with the reason', async () => {
        const backend = await get();
        const shape = backend.upload(int32([2, 3]));
        expect(() => F.constantOfShape(call(backend, [shape]))).toThrow(/input 0 is computed on webgpu, but its values are the output dims/);
        expect(() => F.range(call(backend, [int32([0], []), backend.upload(int32([5], [])), int32([1], [])]))).toThrow(/its values set the output length/);
      });
    }
  });
});
