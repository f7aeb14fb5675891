/**
 * The ONNX reading layer: the only code that knows ONNX's encoding. `readOnnxModel`
 * is the usual entry point: file/URL/bytes → GraphIR with every initializer decoded
 * (graph/model.ts's `loadModel` adds a backend and an executor on top).
 */
import type { GraphIR } from '../graph/ir.js';
import { loadModelProto, type ByteSource, type LoadOptions } from './load.js';
import { modelToIr } from './toIr.js';

export async function readOnnxModel(source: ByteSource, opts: LoadOptions = {}): Promise<GraphIR> {
  const { model, name } = await loadModelProto(source, opts);
  return modelToIr(model, name);
}

export { loadModelProto, type ByteSource, type LoadOptions, type LoadedModelProto } from './load.js';
export { modelToIr, MIN_OPSET, MAX_OPSET } from './toIr.js';
export { tensorFromProto } from './initializers.js';
export { decodeModelProto, encodeModelProto, OnnxDecodeError, DataType } from './proto.js';
