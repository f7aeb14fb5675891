/**
 * A PeftModel as an ONNX file for other runtimes (onnxruntime-web, ONNX Runtime GenAI ...):
 *
 *   exportMerged          the base file with merged weights (mergedInitializers) folded
 *                         into its initializers: a plain model, no adapter left;
 *   exportWithLoraInputs  the base file with each adapted matmul computing
 *                         y = base(x) + s·((x·Aᵀ)·Bᵀ), A and B graph inputs named as PEFT
 *                         names them (`base_model.model.<path>.lora_A.weight`), plus the
 *                         tensors to feed them. Another adapter for the same modules is a
 *                         different feed; its rank may differ (ranks are symbolic dims),
 *                         its scaling may not unless `foldScaling` (then s is in B's feed).
 *                         Quantized targets work here: the branch runs in float beside them.
 *
 * modules_to_save copies and trained biases are written into the initializers in both.
 * Files past 2 GiB go to external data (see src/onnx/export.ts).
 */
import { exportWithLoraInputs as injectLora, exportWithValues, type ExportOptions, type LoraInjection, type OnnxExport } from '../graph/export.js';
import { f32ToF16Bits, Tensor } from '../tensor/tensor.js';
import { mergedInitializers, type MergeOptions } from './merge.js';
import { peftName, type PeftModel } from './model.js';

export type MergedExportOptions = ExportOptions & MergeOptions;

export async function exportMerged(peft: PeftModel, opts: MergedExportOptions = {}): Promise<OnnxExport> {
  const values = await mergedInitializers(peft, opts);
  return exportWithValues(peft.base, values, opts);
}

export interface LoraInputsExportOptions extends ExportOptions {
  /** Whose tensors to return as feeds and whose scaling to build in (default: the active adapter). */
  adapter?: string;
  /** Multiply B's feed by s instead of adding a Mul node, so adapters with any alpha / r can be fed (default false). */
  foldScaling?: boolean;
  /** Element type of the adapter inputs: the activations' type at the adapted matmuls (default float32). */
  dtype?: 'float32' | 'float16';
}

export interface LoraInputsExport extends OnnxExport {
  /** Host tensors for the adapter inputs, by input name (PEFT's tensor names). */
  feeds: Record<string, Tensor>;
}

export async function exportWithLoraInputs(peft: PeftModel, opts: LoraInputsExportOptions = {}): Promise<LoraInputsExport> {
  const adapter = peft.adapter(opts.adapter);
  const dtype = opts.dtype ?? 'float32';
  const injections: LoraInjection[] = [];
  const feeds: Record<string, Tensor> = {};
  const host = async (t: Tensor, scale = 1) => {
    const f = Float32Array.from(await t.data<Float32Array>(), (v) => v * scale);
    return dtype === 'float16' ? new Tensor('float16', Uint16Array.from(f, f32ToF16Bits), t.dims) : new Tensor('float32', f, t.dims);
  };
  for (const [path, m] of adapter.modules) {
    const [aInput, bInput] = [peftName(path, 'lora_A'), peftName(path, 'lora_B')];
    const t = m.target;
    injections.push({ node: t.node, aInput, bInput, inFeatures: t.inFeatures, outFeatures: t.outFeatures, scaling: opts.foldScaling ? undefined : m.scaling });
    feeds[aInput] = await host(m.a);
    feeds[bInput] = await host(m.b, opts.foldScaling ? m.scaling : 1);
  }
  const values = new Map<string, Tensor>();
  for (const [init, t] of adapter.full) values.set(init, new Tensor('float32', Float32Array.from(await t.data<Float32Array>()), t.dims));
  return { ...injectLora(peft.base, injections, { ...opts, dtype, values }), feeds };
}
