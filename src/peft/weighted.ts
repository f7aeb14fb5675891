/**
 * PEFT's add_weighted_adapter (tuners/lora/model.py `add_weighted_adapter`,
 * `_generalized_task_arithmetic_weighted_adapter`): a new adapter made from existing ones.
 *
 *   'cat'    A = [w₁s₁A₁; w₂s₂A₂; …] (rows), B = [B₁ B₂ …] (columns), rank Σrᵢ:
 *            B·A = Σ wᵢ·sᵢ·Bᵢ·Aᵢ exactly — the weighted sum of the adapters' deltas.
 *   'linear' equal ranks; cᵢ = √(wᵢ·sᵢ), A = Σ cᵢAᵢ, B = Σ cᵢBᵢ (PEFT ≥ 0.7's weighting,
 *            applied to both factors, so B·A has cross terms: it is not Σ wᵢΔᵢ).
 *   'svd'    not implemented here (it needs an SVD of every module's combined delta).
 *
 * As in PEFT the new adapter has lora_alpha = r, i.e. scaling 1, the first adapter's other
 * config fields, and the union of the target_modules; modules that only some adapters
 * adapt combine the adapters that have them, others stay zero. Unlike PEFT, use_rslora is
 * turned off and rank_pattern / alpha_pattern are cleared: PEFT copies them from the first
 * adapter, which would rescale the combined adapter (by √r under rsLoRA) or give modules
 * ranks the combination does not have.
 */
import { Tensor } from '../tensor/tensor.js';
import type { LoraConfig } from './config.js';
import { peftName, type LoraAdapter, type PeftModel } from './model.js';

export type CombinationType = 'linear' | 'cat' | 'svd';

export async function addWeightedAdapter(
  peft: PeftModel, adapters: readonly string[], weights: readonly number[], name: string, combinationType: CombinationType,
): Promise<LoraAdapter> {
  if (adapters.length === 0 || adapters.length !== weights.length) {
    throw new Error(`addWeightedAdapter: ${adapters.length} adapters and ${weights.length} weights; give one weight per adapter`);
  }
  const sources = adapters.map((n) => peft.adapter(n));
  const type = adapters.length === 1 ? 'linear' : combinationType; // PEFT: one adapter can only be scaled
  if (type === 'svd') throw new Error("addWeightedAdapter: combination_type 'svd' is not implemented in webpeft; use 'cat' (exact) or 'linear'");
  if (type !== 'cat' && type !== 'linear') throw new Error(`addWeightedAdapter: invalid combination_type '${String(type)}' (webpeft has 'linear' and 'cat')`);
  const ranks = sources.map((a) => a.config.r);
  if (type === 'linear' && new Set(ranks).size !== 1) {
    throw new Error(`addWeightedAdapter: 'linear' needs adapters of one rank, got r = ${ranks.join(', ')}; use 'cat'`);
  }
  checkModulesToSave(sources);
  const r = type === 'cat' ? ranks.reduce((s, x) => s + x, 0) : ranks[0];
  const first = sources[0].config;
  const config: LoraConfig = {
    ...first, r, loraAlpha: r, useRslora: false, rankPattern: {}, alphaPattern: {}, targetModules: unionTargets(sources),
  };
  const added = peft.addAdapter(name, config);
  try {
    const tensors: Record<string, Tensor> = {};
    for (const [path, m] of added.modules) {
      const parts = sources.flatMap((a, i) => {
        const src = a.modules.get(path);
        return src ? [{ src, w: weights[i], adapter: a.name }] : [];
      });
      const combine = type === 'cat' ? cat : linear;
      const { a, b } = await combine(parts, m.r, m.a.dims[1], m.b.dims[0], path);
      tensors[peftName(path, 'lora_A')] = new Tensor('float32', a, m.a.dims);
      tensors[peftName(path, 'lora_B')] = new Tensor('float32', b, m.b.dims);
    }
    peft.setAdapterTensors(tensors, name);
  } catch (err) {
    peft.deleteAdapter(name);
    throw err;
  }
  return added;
}

interface Part {
  src: { a: Tensor; b: Tensor; scaling: number; r: number };
  w: number;
  adapter: string;
}

/** A rows (r, in) stacked, each scaled by w·s; B columns (out, r) side by side; zero-padded to r. */
async function cat(parts: Part[], r: number, inF: number, outF: number, path: string): Promise<{ a: Float32Array; b: Float32Array }> {
  const total = parts.reduce((s, p) => s + p.src.r, 0);
  if (total > r) throw new Error(`addWeightedAdapter: module '${path}' has total rank ${total} > r = ${r} (rank_pattern?)`);
  const a = new Float32Array(r * inF);
  const b = new Float32Array(outF * r);
  let row = 0;
  for (const { src, w } of parts) {
    const A = await src.a.data<Float32Array>();
    const B = await src.b.data<Float32Array>();
    // PEFT: lora_A * weight * scaling, in float32, left to right.
    for (let i = 0; i < A.length; i++) a[row * inF + i] = Math.fround(Math.fround(A[i] * w) * src.scaling);
    for (let o = 0; o < outF; o++) for (let k = 0; k < src.r; k++) b[o * r + row + k] = B[o * src.r + k];
    row += src.r;
  }
  return { a, b };
}

/** A = Σ cᵢAᵢ, B = Σ cᵢBᵢ with cᵢ = √(wᵢ·sᵢ) (PEFT's task_arithmetic on each factor). */
async function linear(parts: Part[], r: number, inF: number, outF: number, path: string): Promise<{ a: Float32Array; b: Float32Array }> {
  const a = new Float32Array(r * inF);
  const b = new Float32Array(outF * r);
  for (const { src, w, adapter } of parts) {
    if (src.r !== r) throw new Error(`addWeightedAdapter: 'linear' needs one rank, but module '${path}' of '${adapter}' has r = ${src.r}, not ${r}`);
    const ws = w * src.scaling;
    if (!(ws >= 0)) throw new Error(`addWeightedAdapter: 'linear' takes √(weight·scaling), but adapter '${adapter}' gives ${ws} (PEFT raises a math domain error too)`);
    const c = Math.fround(Math.sqrt(ws)); // torch.tensor(valid_weights): float32
    const A = await src.a.data<Float32Array>();
    const B = await src.b.data<Float32Array>();
    for (let i = 0; i < a.length; i++) a[i] += Math.fround(c * A[i]);
    for (let i = 0; i < b.length; i++) b[i] += Math.fround(c * B[i]);
  }
  return { a, b };
}

/** PEFT refuses to combine adapters that keep a full copy of the same module. */
function checkModulesToSave(sources: LoraAdapter[]): void {
  const owner = new Map<string, string>();
  for (const a of sources) {
    for (const init of a.full.keys()) {
      const prev = owner.get(init);
      if (prev) throw new Error(`addWeightedAdapter: adapters '${prev}' and '${a.name}' both train a full copy of '${init}' (modules_to_save); they cannot be combined`);
      owner.set(init, a.name);
    }
  }
}

/** Lists: their union (in order); regex strings: `(a)|(b)`; a mix is refused, as in PEFT. */
function unionTargets(sources: LoraAdapter[]): LoraConfig['targetModules'] {
  const all = sources.map((a) => a.config.targetModules);
  if (all.every((t) => Array.isArray(t))) return [...new Set(all.flatMap((t) => t as string[]))];
  if (all.every((t) => typeof t === 'string')) return all.length === 1 ? all[0] : all.map((t) => `(${t})`).join('|');
  throw new Error('addWeightedAdapter: the adapters mix list and string target_modules; PEFT refuses that combination too');
}
