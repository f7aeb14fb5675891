/**
 * Gradient rules for the com.microsoft ops (src/graph/autodiff/rules/contrib): central
 * differences on cpu, webgpu equal to cpu (test/helpers/gradRule.ts), on small odd shapes
 * built like the forward tests' (test/graph/ops.test.ts). Then one end-to-end check: LoRA
 * gradients through the ORT GenAI tiny GPT-2 (fused Attention, SkipLayerNorm, FastGelu)
 * against central differences of its loss.
 */
import { describe, expect, it, vi } from 'vitest';
import { CONTRIB_RULES } from '../../../src/graph/autodiff/rules/contrib/index.js';
import { releaseOpCaches } from '../../../src/graph/ops/registry.js';
import { getPeftModel, loadModel } from '../../../src/index.js';
import { CpuBackend } from '../../../src/tensor/cpu/index.js';
import { Tensor } from '../../../src/tensor/tensor.js';
import { checkRule, type RuleCase } from '../../helpers/gradRule.js';
import { gpu, hasWebGpu } from '../../helpers/gpu.js';
import { randn, rng } from '../../helpers/numeric.js';
import { sharedModel, skipWithoutSharedModels } from '../../helpers/sharedModels.js';

const domain = 'com.microsoft';

/**
 * checkRule, and on webgpu a leak check around it: the forward, the rule and checkRule's
 * own uploads are all freed, so the pool's live bytes must come back to where they were
 * (MatMulNBits' dequantized weight, cached by B for the model's lifetime, is dropped first).
 */
async function check(c: Omit<RuleCase, 'domain' | 'opset'>): Promise<void> {
  if (!hasWebGpu) return checkRule({ ...c, domain, opset: 1 });
  const backend = await gpu();
  await backend.sync();
  const before = backend.ctx.pool.snapshot().liveBytes;
  await checkRule({ ...c, domain, opset: 1 }, backend);
  if (c.opType === 'MatMulNBits') releaseOpCaches(c.inputs[1]!);
  await backend.sync();
  expect(backend.ctx.pool.snapshot().liveBytes - before, `${c.opType}: device bytes left by the forward and the rule`).toBe(0);
}
const int64 = (v: number[], dims: number[] = [v.length]) => new Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);
const int32 = (v: number[], dims: number[] = [v.length]) => new Tensor('int32', Int32Array.from(v), dims);
const bytes = (dims: number[], seed: number) => {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor('uint8', Uint8Array.from({ length: n }, () => Math.floor(r() * 256)), dims);
};

/** Angle tables as exporters build them, θ_i = pos / 10000^(2i / rotary_dim): (maxPos, half). */
function angleTables(maxPos: number, half: number): [Tensor, Tensor] {
  const ang = (k: number) => Math.floor(k / half) / 10000 ** ((2 * (k % half)) / (2 * half));
  const table = (fn: (x: number) => number) => new Tensor('float32', Float32Array.from({ length: maxPos * half }, (_, k) => fn(ang(k))), [maxPos, half]);
  return [table(Math.cos), table(Math.sin)];
}

describe('RotaryEmbedding', () => {
  it('(B, N, S, D) input, int64 position ids, random (non-rotation) tables: the transpose, not only the inverse', async () => {
    const pos = int64([0, 1, 2, 3, 4, 3, 4, 5, 6, 2], [2, 5]);
    await check({ opType: 'RotaryEmbedding', inputs: [randn([2, 3, 5, 6], 1), pos, randn([9, 3], 2), randn([9, 3], 3)], wrt: [0] });
  });
  it('(B, S, N·D) input, int32 position ids, true angle tables', async () => {
    const [cos, sin] = angleTables(8, 5);
    await check({ opType: 'RotaryEmbedding', inputs: [randn([2, 3, 3 * 10], 4), int32([0, 1, 2, 5, 6, 7], [2, 3]), cos, sin], wrt: [0] });
  });
});

describe('MultiHeadAttention', () => {
  const mha = (B: number, S: number, T: number, N: number, H: number, seed: number) => [randn([B, S, N * H], seed), randn([B, T, N * H], seed + 1), randn([B, T, N * H], seed + 2)];
  it('no past, bidirectional, key length ≠ query length (2, 3 vs 4, 2 heads of 5)', async () => {
    await check({ opType: 'MultiHeadAttention', attrs: { num_heads: 2 }, outputCount: 3, inputs: mha(2, 3, 4, 2, 5, 10), wrt: [0, 1, 2] });
  });
  it('causal with past (P 4, S 3): query, key, value, past, and the present outputs carry gradients too', async () => {
    const [B, S, P, N, H] = [2, 3, 4, 2, 3];
    const inputs = [...mha(B, S, S, N, H, 20), undefined, undefined, undefined, randn([B, N, P, H], 23), randn([B, N, P, H], 24)];
    await check({ opType: 'MultiHeadAttention', attrs: { num_heads: N, unidirectional: 1 }, outputCount: 3, inputs, wrt: [0, 1, 2, 6, 7] });
  });
  it('attention_bias (1, N, S, T) with a wanted gradient, custom scale, present unused', async () => {
    const [B, S, N, H] = [2, 3, 3, 2];
    const inputs = [...mha(B, S, S, N, H, 30), undefined, undefined, randn([1, N, S, S], 33, -2, 2)];
    await check({ opType: 'MultiHeadAttention', attrs: { num_heads: N, scale: 0.4 }, outputCount: 3, unusedOutputs: [1, 2], inputs, wrt: [0, 1, 2, 5] });
  });
  it('only present_key / present_value used: the gradient of key, value and past is present’s', async () => {
    const [B, S, P, N, H] = [1, 2, 3, 2, 3];
    const inputs = [...mha(B, S, S, N, H, 40), undefined, undefined, undefined, randn([B, N, P, H], 43), randn([B, N, P, H], 44)];
    await check({ opType: 'MultiHeadAttention', attrs: { num_heads: N, unidirectional: 1 }, outputCount: 3, unusedOutputs: [0], inputs, wrt: [1, 2, 6, 7] });
  });
});

describe('Attention (fused GPT-2 form)', () => {
  // input (B, S, Cin), weights (Cin, 3·N·H), bias (3·N·H), mask_index (B, P+S), past (2, B, N, P, H)
  const attn = (B: number, S: number, Cin: number, N: number, H: number, seed: number) => [
    randn([B, S, Cin], seed), randn([Cin, 3 * N * H], seed + 1, -0.7, 0.7), randn([3 * N * H], seed + 2),
  ];
  it('past (P 2), mask with a padded key, unidirectional, GPT-2’s mask_filter_value; input, weights, bias, past', async () => {
    const [B, S, P, Cin, N, H] = [2, 3, 2, 7, 2, 3];
    const mask = int32([1, 1, 1, 1, 1, 0, 1, 1, 1, 1], [B, P + S]);
    const inputs = [...attn(B, S, Cin, N, H, 50), mask, randn([2, B, N, P, H], 53)];
    await check({
      opType: 'Attention', attrs: { num_heads: N, unidirectional: 1, mask_filter_value: -3.4028234663852886e38 }, outputCount: 2, inputs, wrt: [0, 1, 2, 4],
    });
  });
  it('no past, no mask, bidirectional; int64 mask with the default fill; present unused', async () => {
    const [B, S, Cin, N, H] = [2, 4, 5, 3, 2];
    await check({ opType: 'Attention', attrs: { num_heads: N }, outputCount: 2, unusedOutputs: [1], inputs: attn(B, S, Cin, N, H, 60), wrt: [0, 1, 2] });
    const mask = int64([1, 1, 0, 1, 1, 1, 1, 1], [B, S]);
    await check({ opType: 'Attention', attrs: { num_heads: N }, outputCount: 2, unusedOutputs: [1], inputs: [...attn(B, S, Cin, N, H, 64), mask], wrt: [0] });
  });
  it('empty past (P 0), only present used', async () => {
    const [B, S, Cin, N, H] = [1, 3, 4, 2, 2];
    const inputs = [...attn(B, S, Cin, N, H, 70), undefined, new Tensor('float32', new Float32Array(0), [2, B, N, 0, H])];
    await check({ opType: 'Attention', attrs: { num_heads: N, unidirectional: 1 }, outputCount: 2, unusedOutputs: [0], inputs, wrt: [0, 1, 2] });
  });
});

describe('GroupQueryAttention', () => {
  interface Gqa {
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
    attrs?: Record<string, number>;
    wrt?: number[];
    unusedOutputs?: number[];
  }
  const gqa = async (g: Gqa, seed: number) => {
    const kvw = g.Nkv * g.H;
    const inputs: (Tensor | undefined)[] = [
      randn([g.B, g.S, g.packed ? (g.N + 2 * g.Nkv) * g.H : g.N * g.H], seed),
      g.packed ? undefined : randn([g.B, g.S, kvw], seed + 1),
      g.packed ? undefined : randn([g.B, g.S, kvw], seed + 2),
      g.P ? randn([g.B, g.Nkv, g.P, g.H], seed + 3) : undefined,
      g.P ? randn([g.B, g.Nkv, g.P, g.H], seed + 4) : undefined,
      int32(g.seqlens ?? Array(g.B).fill(g.T - 1)),
      int32([g.T], []),
    ];
    const attrs: Record<string, number> = { num_heads: g.N, kv_num_heads: g.Nkv, ...g.attrs };
    if (g.rotary) {
      inputs.push(...angleTables(g.T + 3, g.rotary.half));
      Object.assign(attrs, { do_rotary: 1, rotary_interleaved: g.rotary.interleaved ? 1 : 0 });
    }
    const wrt = g.wrt ?? (g.packed ? [0] : [0, 1, 2]).concat(g.P ? [3, 4] : []);
    await check({ opType: 'GroupQueryAttention', attrs, outputCount: 3, inputs, wrt, unusedOutputs: g.unusedOutputs });
  };
  it('prompt, no past: 4 query heads over 2 KV heads (B 2, S = T = 3, H 3)', async () => {
    await gqa({ B: 2, S: 3, P: 0, T: 3, N: 4, Nkv: 2, H: 3 }, 100);
  });
  it('continue 2 tokens after a past of 3 (6 heads over 2, custom scale), present outputs used', async () => {
    await gqa({ B: 1, S: 2, P: 3, T: 5, N: 6, Nkv: 2, H: 2, attrs: { scale: 0.3 } }, 110);
  });
  it('decode into a longer shared-size past buffer (P 6, T 4): present’s zero padding and unread past get zero', async () => {
    await gqa({ B: 2, S: 1, P: 6, T: 4, N: 2, Nkv: 1, H: 3 }, 120);
  });
  it('do_rotary, non-interleaved, after a past of 2', async () => {
    await gqa({ B: 2, S: 2, P: 2, T: 4, N: 4, Nkv: 2, H: 4, rotary: { half: 2, interleaved: false } }, 130);
  });
  it('do_rotary, interleaved, prompt', async () => {
    await gqa({ B: 1, S: 3, P: 0, T: 3, N: 3, Nkv: 1, H: 6, rotary: { half: 3, interleaved: true } }, 140);
  });
  it('partial rotary (4 of 8 features), present unused', async () => {
    await gqa({ B: 1, S: 3, P: 0, T: 3, N: 2, Nkv: 1, H: 8, rotary: { half: 2, interleaved: false }, unusedOutputs: [1, 2] }, 150);
  });
  it('packed QKV with rotary, after a past of 2; packed QKV without rotary, prompt', async () => {
    await gqa({ B: 2, S: 2, P: 2, T: 4, N: 4, Nkv: 2, H: 4, packed: true, rotary: { half: 2, interleaved: false } }, 160);
    await gqa({ B: 1, S: 3, P: 0, T: 3, N: 3, Nkv: 1, H: 3, packed: true }, 165);
  });
  it('right-padded prompt rows (seqlens_k [3, 1]), softcap 1.5, local window 2', async () => {
    await gqa({ B: 2, S: 4, P: 0, T: 4, N: 2, Nkv: 1, H: 3, seqlens: [3, 1] }, 170);
    await gqa({ B: 1, S: 1, P: 4, T: 5, N: 2, Nkv: 1, H: 3, attrs: { softcap: 1.5 } }, 175);
    await gqa({ B: 1, S: 3, P: 2, T: 5, N: 2, Nkv: 1, H: 3, attrs: { local_window_size: 2 } }, 178);
  });
  it('only the query wanted; only past wanted', async () => {
    await gqa({ B: 1, S: 2, P: 3, T: 5, N: 2, Nkv: 1, H: 3, wrt: [0] }, 180);
    await gqa({ B: 1, S: 2, P: 3, T: 5, N: 2, Nkv: 1, H: 3, wrt: [3, 4] }, 185);
  });
});

describe('EmbedLayerNormalization', () => {
  // input_ids, segment_ids, word, position, segment, gamma, beta, mask, position_ids; repeated ids accumulate.
  const [B, S, C, V] = [2, 5, 6, 7];
  const ids = () => int32([1, 3, 3, 0, 6, 2, 1, 1, 5, 3], [B, S]);
  const tables = (seed: number) => [randn([V, C], seed), randn([S + 2, C], seed + 1), randn([2, C], seed + 2), randn([C], seed + 3, 0.5, 1.5), randn([C], seed + 4)];
  const outs = { outputCount: 3 };
  it('segments, default positions, mask; output and embedding_sum both used', async () => {
    const [w, p, s, g, be] = tables(200);
    const seg = int32([0, 0, 1, 1, 1, 0, 1, 0, 1, 0], [B, S]);
    const mask = int32([1, 1, 1, 1, 0, 1, 1, 1, 0, 0], [B, S]);
    await check({ opType: 'EmbedLayerNormalization', attrs: { epsilon: 1e-5 }, ...outs, inputs: [ids(), seg, w, p, s, g, be, mask], wrt: [2, 3, 4, 5, 6] });
  });
  it('no segments, int64 position ids (B, S) given (GPT-2’s form), output only', async () => {
    const [w, p, , g, be] = tables(210);
    const pos = int64([0, 1, 2, 3, 4, 2, 3, 4, 5, 6], [B, S]);
    await check({
      opType: 'EmbedLayerNormalization', attrs: { epsilon: 1e-5 }, ...outs, unusedOutputs: [2],
      inputs: [ids(), undefined, w, p, undefined, g, be, undefined, pos], wrt: [2, 3, 5, 6],
    });
  });
});

describe('MatMulNBits', () => {
  /** A (…, K), packed B (N, blocks, block·bits/8), scales (N·blocks), zero points packed like B; K not a multiple of the block. */
  const nbits = (aDims: number[], N: number, block: number, zp: boolean, bias: boolean, seed: number) => {
    const K = aDims[aDims.length - 1];
    const blocks = Math.ceil(K / block);
    const inputs: (Tensor | undefined)[] = [
      randn(aDims, seed), bytes([N, blocks, block / 2], seed + 1), randn([N * blocks], seed + 2, 0.005, 0.05),
      zp ? bytes([N * Math.ceil(blocks / 2)], seed + 3) : undefined,
    ];
    if (bias) inputs.push(undefined, randn([N], seed + 4));
    return { opType: 'MatMulNBits', attrs: { K, N, bits: 4, block_size: block }, inputs, wrt: bias ? [0, 5] : [0] };
  };
  it('4-bit, block 16, packed zero points, bias: A (2, 3, 40), N 11', async () => {
    await check(nbits([2, 3, 40], 11, 16, true, true, 300));
  });
  it('4-bit, block 32, default zero point: A (5, 33), N 7', async () => {
    await check(nbits([5, 33], 7, 32, false, false, 310));
  });
  it('4-bit, block 32, packed zero points (3 blocks: an odd nibble count): A (3, 70), N 5', async () => {
    await check(nbits([3, 70], 5, 32, true, false, 320));
  });
});

/**
 * LoRA gradients through the whole model: lora_A / lora_B entries must equal central
 * differences of the causal-LM loss recomputed by computeGradients. Two float32 effects
 * set the step and the bound:
 *   - the loss (~6.9) is a float32, so it moves in steps of ulp(6.9) = 4.8e-7: a difference
 *     over 2ε carries ~2.4e-5 of noise at ε = 1e-2, ~4.8e-5 at ε = 5e-3 — hence ε ~1e-2,
 *     not smaller;
 *   - at ε = 1e-2 the O(ε²) truncation is not small: FastGelu after c_fc's LoRA (scaling 2,
 *     B ≠ 0) curves enough that the plain difference is off by 2 % there (measured 1.7e-3
 *     on a 0.085 entry). Richardson's (4·n(ε/2) − n(ε)) / 3 cancels the ε² term (the ε⁴
 *     residue measured ~5e-6), at a noise of ≤ (4·4.8e-5 + 2.4e-5) / 3 ≈ 7e-5.
 * So each entry is checked as |a − n| ≤ 2e-3 · max |a| of its tensor + 1e-4. Entries are
 * each tensor's largest and its first: a wrong rule (a missing term, a transposed factor)
 * is off by O(|a|) in the large ones.
 */
describe('end to end: ORT GenAI tiny GPT-2 (fused Attention, SkipLayerNorm, FastGelu) LoRA gradients vs central differences', () => {
  const skip = skipWithoutSharedModels('contrib end-to-end (tiny GPT-2)');
  it.skipIf(skip)('computeGradients runs through 4 Attention rules; lora_A / lora_B entries equal central differences of the loss', async () => {
    const base = await loadModel(sharedModel('ortgenai-tiny-random-gpt2-fp32/past.onnx'), { backend: new CpuBackend() });
    const peft = getPeftModel(base, { r: 2, lora_alpha: 4, target_modules: 'all-linear', init_lora_weights: false });
    const [B, T] = [2, 5];
    const r = rng(7);
    const batch = {
      input_ids: int32(Array.from({ length: B * T }, () => Math.floor(r() * 1000)), [B, T]),
      position_ids: int32(Array.from({ length: B * T }, (_, i) => i % T), [B, T]),
      // Row 1's last key padded: the Attention rule's mask path.
      attention_mask: int32(Array.from({ length: B * T }, (_, i) => +(i !== B * T - 1)), [B, T]),
      ...Object.fromEntries([0, 1, 2, 3, 4].map((l) => [`past_${l}`, new Tensor('float32', new Float32Array(0), [2, B, 4, 0, 8])])),
    };
    const spy = vi.spyOn(CONTRIB_RULES['com.microsoft::Attention'], 'grad');
    let result;
    try {
      result = await peft.computeGradients(batch);
      // Layer 0's Attention reads only the embeddings; those of layers 1–4 are on the path.
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
    const { loss, grads } = result;
    expect(Number.isFinite(loss)).toBe(true);
    expect(Object.keys(grads)).toHaveLength(30); // c_proj, c_fc, mlp.c_proj × 5 layers × (A, B)

    const lossAt = async (name: string, e: number, d: number) => {
      const views = peft.adapterTensors();
      const t = views[name];
      const orig = Float32Array.from(await t.toArray());
      const v = Float32Array.from(orig);
      v[e] += d;
      peft.setAdapterTensors({ [name]: new Tensor('float32', v, t.dims) });
      const g = await peft.computeGradients(batch);
      for (const x of [...Object.values(g.grads), ...Object.values(views)]) x.dispose();
      peft.setAdapterTensors({ [name]: new Tensor('float32', orig, t.dims) });
      return g.loss;
    };
    const diff = async (name: string, e: number, eps: number) => ((await lossAt(name, e, eps)) - (await lossAt(name, e, -eps))) / (2 * eps);
    const eps = 1e-2;
    const picked = ['transformer.h.0.attn.c_proj', 'transformer.h.1.mlp.c_fc', 'transformer.h.3.mlp.c_proj'].flatMap((m) =>
      (['lora_A', 'lora_B'] as const).map((w) => `base_model.model.${m}.${w}.weight`),
    );
    let worst = 0;
    let worstOfBound = 0;
    for (const name of picked) {
      const a = await grads[name].toArray();
      const scale = Math.max(...a.map(Math.abs));
      const largest = a.findIndex((x) => Math.abs(x) === scale);
      for (const e of new Set([largest, 0])) {
        const numeric = (4 * (await diff(name, e, eps / 2)) - (await diff(name, e, eps))) / 3;
        const err = Math.abs(a[e] - numeric);
        worst = Math.max(worst, err);
        worstOfBound = Math.max(worstOfBound, err / (2e-3 * scale + 1e-4));
        expect(err, `${name}[${e}]: analytic ${a[e]}, numeric ${numeric}`).toBeLessThan(2e-3 * scale + 1e-4);
      }
    }
    console.log(`[contrib e2e] tiny GPT-2: loss ${loss.toFixed(4)}; worst |analytic − numeric| ${worst.toExponential(2)}, at most ${(100 * worstOfBound).toFixed(0)} % of its bound`);
    for (const g of Object.values(grads)) g.dispose();
    peft.dispose();
    base.dispose();
  });
});
