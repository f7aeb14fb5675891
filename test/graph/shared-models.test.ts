/**
 * Forward parity with onnxruntime-web on the third-party models in ../shared/models
 * (real exporter output nobody here wrote). Skips with a visible line when the folder is
 * absent; WEBPEFT_REQUIRE_SHARED_MODELS=1 (CI) makes that a failure.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/graph/executor.js';
import { readOnnxModel } from '../../src/onnx/index.js';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { f16BitsToF32, f32ToF16Bits, Tensor } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { expectNoLeak } from '../helpers/leaks.js';
import { rng } from '../helpers/numeric.js';
import { runOrt, scaleError } from '../helpers/ort.js';
import { widenedModel } from '../helpers/widen.js';

const ROOT = '../shared/models';
const present = existsSync(ROOT);
if (!present) {
  if (process.env.WEBPEFT_REQUIRE_SHARED_MODELS === '1') throw new Error(`${ROOT} is missing and WEBPEFT_REQUIRE_SHARED_MODELS=1`);
  console.warn(`[webpeft tests] shared-model suites SKIPPED: ${ROOT} not found`);
}

const ids = (dtype: 'int64' | 'int32', b: number, t: number, vocab: number, seed: number) => {
  const r = rng(seed);
  const v = Array.from({ length: b * t }, () => Math.floor(r() * vocab));
  return dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(v.map(BigInt)), [b, t]) : new Tensor('int32', Int32Array.from(v), [b, t]);
};
const filled = (dtype: 'int64' | 'int32', dims: number[], f: (i: number) => number) => {
  const n = dims.reduce((a, c) => a * c, 1);
  const v = Array.from({ length: n }, (_, i) => f(i));
  return dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims) : new Tensor('int32', Int32Array.from(v), dims);
};
const randomPast = (dtype: 'float32' | 'float16', dims: number[], seed: number) => {
  const r = rng(seed);
  const n = dims.reduce((a, c) => a * c, 1);
  const v = Array.from({ length: n }, () => r() * 2 - 1);
  return dtype === 'float16' ? new Tensor('float16', Uint16Array.from(v, f32ToF16Bits), dims) : new Tensor('float32', Float32Array.from(v), dims);
};

interface Case {
  name: string;
  file: string;
  feeds: () => Record<string, Tensor>;
  /** Error bound relative to each output's scale; see the comment where it is loosened. */
  tol: number;
}

const B = 2;
const T = 5;
const P = 3; // past length: the cache path, not only the prompt path

const CASES: Case[] = [
  {
    name: 'DistilBERT classifier (opset 11, numeric names)',
    file: 'optimum-tiny-distilbert-sst2/model.onnx',
    feeds: () => ({ input_ids: ids('int64', B, T, 1000, 1), attention_mask: filled('int64', [B, T], (i) => (i === B * T - 1 ? 0 : 1)) }),
    tol: 1e-4,
  },
  {
    name: 'GPT-2 with fused com.microsoft ops and past (opset 11)',
    file: 'ortgenai-tiny-random-gpt2-fp32/past.onnx',
    feeds: () => ({
      input_ids: ids('int32', B, T, 1000, 2),
      position_ids: filled('int32', [B, T], (i) => P + (i % T)),
      attention_mask: filled('int32', [B, P + T], () => 1),
      ...Object.fromEntries([0, 1, 2, 3, 4].map((l) => [`past_${l}`, randomPast('float32', [2, B, 4, P, 8], 10 + l)])),
    }),
    tol: 1e-4,
  },
  ...[
    // The GenAI builder's causal-mask subgraph expects what its runtime feeds: a prompt
    // with no past, or one new token after a past (S > 1 with a past is not expandable).
    { what: 'prompt', s: T, p: 0 },
    { what: 'one-token decode after a past', s: 1, p: 6 },
  ].map(({ what, s, p }) => ({
    name: `Llama fp16 from the GenAI builder, ${what} (Rotary, MHA, SkipSimplifiedLayerNorm)`,
    file: 'ortgenai-tiny-random-LlamaForCausalLM-fp16/model.onnx',
    feeds: () => ({
      input_ids: ids('int64', B, s, 32000, 3),
      attention_mask: filled('int64', [B, p + s], () => 1),
      position_ids: filled('int64', [B, s], (i) => p + (i % s)),
      ...Object.fromEntries([0, 1].flatMap((l) => ['key', 'value'].map((kv, j) => [`past_key_values.${l}.${kv}`, randomPast('float16', [B, 1, p, 16], 20 + 2 * l + j)]))),
    }),
    // onnxruntime computes this fp16 model in fp16; webpeft widens to f32 and rounds the
    // outputs to fp16 once, so the two differ by fp16 rounding of intermediates (~2^-11).
    tol: 4e-3,
  })),
];

async function parity(backend: Backend, c: Case): Promise<void> {
  const path = `${ROOT}/${c.file}`;
  const feeds = c.feeds();
  const exec = new Executor(await readOnnxModel(path), backend);
  const ours = await exec.run(feeds);
  const oracle = await runOrt(path, feeds);
  for (const [name, want] of Object.entries(oracle)) {
    expect(ours[name].dims, `${name} dims`).toEqual(want.dims);
    const got = await ours[name].toArray();
    // onnxruntime returns float16 outputs as raw half bits.
    const ref = ours[name].dtype === 'float16' ? want.data.map(f16BitsToF32) : want.data;
    const err = scaleError(got, ref);
    console.log(`[parity] ${backend.name} ${c.name} ${name}: max error / scale = ${err.toExponential(2)}`);
    expect(err, `${c.name}: ${name} max error / scale`).toBeLessThan(c.tol);
  }
  // On webgpu, a second run frees every intermediate (test/helpers/leaks.ts).
  await expectNoLeak(c.name, exec, feeds, backend);
}

/**
 * The fp16 model again, against onnxruntime-web computing the same graph in float32 (the
 * model widened: test/helpers/widen.ts) and webpeft's float32 values before the final
 * narrowing: the fp32 bound, 1e-4 of each output's scale, applies.
 */
async function parityAtFloat32(backend: Backend, c: Case): Promise<void> {
  const path = `${ROOT}/${c.file}`;
  const feeds = c.feeds();
  const wide = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.dtype === 'float16' ? new Tensor('float32', Float32Array.from(t.hostData<Uint16Array>(), f16BitsToF32), t.dims) : t]));
  const exec = new Executor(await readOnnxModel(path), backend);
  const ours = await exec.run(feeds, { float32Outputs: true });
  const oracle = await runOrt(await widenedModel(path), wide);
  for (const [name, want] of Object.entries(oracle)) {
    expect(ours[name].dtype).toBe('float32');
    const err = scaleError(await ours[name].toArray(), want.data);
    console.log(`[parity] ${backend.name} ${c.name} ${name} (both in float32): max error / scale = ${err.toExponential(2)}`);
    expect(err, `${c.name}: ${name} max error / scale at float32`).toBeLessThan(1e-4);
  }
}

// Only the decode step: on the prompt, the builder's causal mask sums two −65504 biases,
// which saturate to −inf in fp16 but not in the widened fp32 graph, so onnxruntime's own
// fp16 and widened-fp32 runs disagree there (0.24 of the logits' scale, measured); the
// widened graph is no oracle for that case. The fp16 prompt parity above still covers it.
const FP16 = CASES.filter((c) => c.tol > 1e-4 && c.name.includes('decode'));

describe.skipIf(!present)('fp16 models computed in float32 by both (cpu backend)', () => {
  for (const c of FP16) it(c.name, () => parityAtFloat32(new CpuBackend(), c));
});

describe.skipIf(!present || !hasWebGpu)('fp16 models computed in float32 by both (webgpu backend)', () => {
  for (const c of FP16) it(c.name, async () => parityAtFloat32(await gpu(), c));
});

describe.skipIf(!present)('third-party models vs onnxruntime-web (cpu backend)', () => {
  for (const c of CASES) it(c.name, () => parity(new CpuBackend(), c));
});

describe.skipIf(!present || !hasWebGpu)('third-party models vs onnxruntime-web (webgpu backend)', () => {
  for (const c of CASES) it(c.name, async () => parity(await gpu(), c));
});
