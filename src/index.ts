/** webpeft's public API. Nothing outside src/ reaches past this file. */
export { Tensor, type DType, type HostData, type Location } from './tensor/tensor.js';
export type {
  Backend,
  UnaryOp,
  BinaryOp,
  ReduceOp,
  MatmulOptions,
  LoraOptions,
  LoraGrads,
  DropoutSpec,
  SoftmaxOptions,
  NormResult,
  AdamWOptions,
} from './tensor/backend.js';
export { createBackend, selectBackend, type BackendName, type SelectedBackend } from './tensor/index.js';
export { CpuBackend } from './tensor/cpu/index.js';
export { WebGpuBackend } from './tensor/webgpu/index.js';
export {
  getDevice,
  tryGetDevice,
  releaseDevice,
  NoWebGpuError,
  DeviceLostError,
  type GpuContext,
  type AdapterSummary,
} from './gpu/device.js';
export { profile } from './gpu/launch.js';
export { loadModel, Model, type ModelOptions } from './graph/model.js';
export { Executor, UnsupportedOpsError, type RunOptions } from './graph/executor.js';
export type { GraphIR, IrNode, IrValue, Dim, AttrValue } from './graph/ir.js';
export type { LoraTarget } from './graph/targets.js';
export { readOnnxModel, OnnxDecodeError, MIN_OPSET, MAX_OPSET, type ByteSource, type LoadOptions } from './onnx/index.js';
export * from './peft/index.js';
export * from './train/index.js';
export * from './io/index.js';
export { Tape } from './graph/autodiff/tape.js';
export * from './data/index.js';
export * from './generate/index.js';
export { writeOnnxExport, EXTERNAL_AUTO_BYTES, type OnnxExport, type ExportOptions, type LoraExportOptions, type LoraInjection } from './graph/export.js';
