/**
 * Exports of a loaded model, for tuners (src/peft does not read or write ONNX itself):
 * the ONNX writing is src/onnx/export.ts; this file only hands it the model's decoded file.
 */
import {
  exportLoraInputsOnnx,
  exportMergedOnnx,
  type ExportOptions,
  type LoraExportOptions,
  type LoraInjection,
  type OnnxExport,
} from '../onnx/export.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Model } from './model.js';

export { writeOnnxExport, EXTERNAL_AUTO_BYTES, type ExportOptions, type LoraExportOptions, type LoraInjection, type OnnxExport } from '../onnx/export.js';

/** The model's ONNX file with new values for some initializers (host float32 tensors, by name). */
export function exportWithValues(model: Model, values: ReadonlyMap<string, Tensor>, opts?: ExportOptions): OnnxExport {
  return exportMergedOnnx(model.onnxProto(), values, opts);
}

/** The model's ONNX file with a LoRA branch, fed through graph inputs, on each injected matmul. */
export function exportWithLoraInputs(model: Model, injections: readonly LoraInjection[], opts?: LoraExportOptions): OnnxExport {
  return exportLoraInputsOnnx(model.onnxProto(), injections, opts);
}
