/**
 * Merging LoRA into the base weights, as PEFT does (tuners/lora/layer.py `Linear.merge`,
 * `get_delta_weight`): W' = W + s·(B·A), written in the layout the file stores W in —
 * [out, in] as nn.Linear, or [in, out] for fan_in_fan_out (GPT-2's Conv1D), exports that
 * pre-transposed the weight, Gemm without transB, or an odd number of Transposes in front
 * of the matmul. `LoraTarget.fanInFanOut` already counts all of those.
 *
 *   mergeAdapter / unmergeAdapter  PEFT's merge_adapter / unmerge_adapter: the base model
 *       runs with merged copies swapped in (Model.swapWeights) and without the LoRA
 *       branch on those nodes. The frozen originals are never written, so unmerging
 *       restores them bit for bit.
 *   mergeAndUnload                 a new Model whose initializers are the merged ones; the
 *       base model is left as it was.
 *   mergedInitializers             the values both of those and the ONNX export use.
 *
 * Refused, with the module named: quantized weights (DequantizeLinear, MatMulNBits) —
 * merging into them would need re-quantization, which is lossy (exportWithLoraInputs keeps
 * the branch in float instead); weights that another node also reads (tied embeddings),
 * which a merge would silently change too.
 */
import { consumers, type GraphIR } from '../graph/ir.js';
import { Model } from '../graph/model.js';
import { f16BitsToF32, Tensor } from '../tensor/tensor.js';
import type { AdaptedModule, PeftModel } from './model.js';

/** Adapters merged into each PeftModel's base (by mergeAdapter), in merge order. */
const mergedOf = new WeakMap<PeftModel, string[]>();

export interface MergeOptions {
  /** Adapters to merge (PEFT's adapter_names); default: the merged ones and the active one. */
  adapterNames?: string[];
}

/** The adapters mergeAdapter merged (empty when unmerged): PEFT's `merged_adapters`. */
export function mergedAdapters(peft: PeftModel): string[] {
  return [...(mergedOf.get(peft) ?? [])];
}

/**
 * PEFT's merge_adapter: from now on the base model runs with W + s·B·A on every module of
 * these adapters (default: the active one), and those modules run no LoRA branch. Other
 * PeftModels on the same base see the merged weights too, as in PEFT.
 */
export async function mergeAdapter(peft: PeftModel, adapterNames = [peft.activeAdapter]): Promise<void> {
  const already = mergedOf.get(peft);
  if (already) throw new Error(`mergeAdapter: adapter(s) ${quote(already)} are merged already; call unmergeAdapter() first`);
  const modules = modulesOf(peft, adapterNames);
  const host = await mergedWeights(peft.base, modules);
  const onDevice = new Map([...host].map(([name, t]) => [name, peft.base.backend.upload(t)]));
  peft.base.swapWeights(onDevice, modules.map((m) => m.target.node));
  mergedOf.set(peft, [...adapterNames]);
}

/** PEFT's unmerge_adapter: the frozen weights and the LoRA branches again (a no-op when nothing is merged). */
export function unmergeAdapter(peft: PeftModel): void {
  if (!mergedOf.has(peft)) return;
  const swapped = peft.base.restoreWeights();
  for (const t of swapped?.values() ?? []) t.dispose();
  mergedOf.delete(peft);
}

/**
 * PEFT's merge_and_unload, without touching the base: a new Model (same backend) whose
 * LoRA target weights are merged and whose modules_to_save / trained biases are the
 * active adapter's copies (PEFT keeps the active adapter's ModulesToSaveWrapper copy).
 */
export async function mergeAndUnload(peft: PeftModel, opts: MergeOptions = {}): Promise<Model> {
  const names = opts.adapterNames ?? defaultNames(peft);
  const values = await mergedInitializers(peft, { adapterNames: names });
  const base = peft.base;
  const ir: GraphIR = {
    ...base.ir,
    initializers: new Map([...base.ir.initializers, ...values]),
    notes: [...base.ir.notes, `adapter(s) ${quote(names)} merged into the weights`],
  };
  return Model.fromIr(ir, base.backend, base.backendNote, { file: `${base.file} (merged ${names.join(', ')})` });
}

/** Host float32 values for every initializer a merge changes: merged LoRA weights, and the active adapter's full copies. */
export async function mergedInitializers(peft: PeftModel, opts: MergeOptions = {}): Promise<Map<string, Tensor>> {
  const values = await mergedWeights(peft.base, modulesOf(peft, opts.adapterNames ?? defaultNames(peft)));
  for (const [init, t] of peft.adapter().full) {
    if (values.has(init)) throw new Error(`'${init}' is both a LoRA target weight and a trainable copy (modules_to_save / bias); cannot merge both`);
    values.set(init, new Tensor('float32', Float32Array.from(await t.data<Float32Array>()), t.dims));
  }
  return values;
}

/** The merged ones first, then the active adapter (PEFT merges the active adapters; merged ones stay merged). */
function defaultNames(peft: PeftModel): string[] {
  return [...new Set([...mergedAdapters(peft), peft.activeAdapter])];
}

function modulesOf(peft: PeftModel, names: readonly string[]): AdaptedModule[] {
  if (names.length === 0) throw new Error('merge: no adapter names given');
  return names.flatMap((n) => [...peft.adapter(n).modules.values()]);
}

/**
 * W + Σ s·B·A per target weight, in the weight's stored layout, as host float32 (one
 * rounding for the scaled delta, one for the add, as PEFT's `weight.data += delta`).
 */
export async function mergedWeights(model: Model, modules: readonly AdaptedModule[]): Promise<Map<string, Tensor>> {
  checkMergeable(model.ir, modules);
  const out = new Map<string, Float32Array>();
  for (const m of modules) {
    const t = m.target;
    const stored = model.ir.initializers.get(t.weight)!;
    const w = out.get(t.weight) ?? hostFloat32(stored);
    const d = await delta(model, m, stored.dims);
    for (let i = 0; i < w.length; i++) w[i] += Math.fround(m.scaling * d[i]);
    out.set(t.weight, w);
  }
  return new Map([...out].map(([name, w]) => [name, new Tensor('float32', w, model.ir.initializers.get(name)!.dims)]));
}

/** B·A (out, in), or its transpose Aᵀ·Bᵀ (in, out) for weights stored [in, out], on the backend. */
async function delta(model: Model, m: AdaptedModule, dims: readonly number[]): Promise<Float32Array> {
  const b = model.backend;
  const prod = m.target.fanInFanOut ? b.matmul(m.a, m.b, { transA: true, transB: true }) : b.matmul(m.b, m.a);
  try {
    if (prod.dims.join() !== dims.join()) {
      throw new Error(`merge '${m.target.path}': B·A is [${prod.dims.join(', ')}] but weight '${m.target.weight}' is stored [${dims.join(', ')}]`);
    }
    return await prod.data<Float32Array>();
  } finally {
    prod.dispose();
  }
}

/** A fresh float32 copy of a stored float weight. */
function hostFloat32(t: Tensor): Float32Array {
  if (t.dtype === 'float16') return Float32Array.from(t.hostData<Uint16Array>(), f16BitsToF32);
  return Float32Array.from(t.hostData<Float32Array>());
}

const VIA = new Set(['Transpose', 'Cast', 'Identity']);

/** Quantized, non-float and shared (tied) weights cannot be merged into: say which module and why. */
function checkMergeable(ir: GraphIR, modules: readonly AdaptedModule[]): void {
  const readers = new Map<string, Set<string>>(); // weight → the target nodes merging into it
  for (const { target: t } of modules) {
    if (t.quantization) {
      throw new Error(
        `cannot merge into '${t.path}': its weight '${t.weight}' is quantized (${t.quantization.op}, ${t.quantization.bits}-bit) and ` +
          'merging LoRA into quantized weights is lossy (it would need re-quantizing); export with the LoRA branch kept in float ' +
          '(exportWithLoraInputs) or merge into a float model',
      );
    }
    const dtype = ir.initializers.get(t.weight)?.dtype;
    if (dtype !== 'float32' && dtype !== 'float16') throw new Error(`cannot merge into '${t.path}': its weight '${t.weight}' is ${dtype}, not a float tensor`);
    readers.set(t.weight, (readers.get(t.weight) ?? new Set()).add(t.node));
  }
  const cons = consumers(ir);
  for (const [weight, targets] of readers) {
    const path = modules.find((m) => m.target.weight === weight)!.target.path;
    for (const stack = [weight]; stack.length; ) {
      const v = stack.pop()!;
      for (const i of cons.get(v) ?? []) {
        const n = ir.nodes[i];
        if (targets.has(n.name)) continue;
        if (VIA.has(n.opType) && n.inputs[0] === v) {
          stack.push(n.outputs[0]);
          continue;
        }
        throw new Error(
          `cannot merge into '${path}': its weight '${weight}' is also read by node '${n.name}' (${n.opType}), which a merge would change too ` +
            '(tied weights); keep the adapter unmerged, or export with exportWithLoraInputs',
        );
      }
    }
  }
}

const quote = (names: readonly string[]) => names.map((n) => `'${n}'`).join(', ');
