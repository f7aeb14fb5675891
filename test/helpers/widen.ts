/**
 * An fp16 ONNX model rewritten as fp32 — initializers, Constant/ConstantOfShape values,
 * graph inputs/outputs/value_info, and Cast targets — so onnxruntime-web computes the same
 * graph in float32 and can be compared with webpeft's float32 compute at fp32 tolerances.
 * External data is read in (the result is one self-contained file).
 */
import { loadModelProto } from '../../src/onnx/load.js';
import { DataType, encodeModelProto, type AttributeProto, type TensorProto, type TypeProto } from '../../src/onnx/proto.js';
import { f16BitsToF32 } from '../../src/tensor/tensor.js';

function widenTensor(t: TensorProto): void {
  t.dataLocation = 0; // loadModelProto read external data into raw_data
  t.externalData = [];
  if (t.dataType !== DataType.FLOAT16) return;
  const halves = t.rawData?.length
    ? new Uint16Array(t.rawData.slice().buffer, 0, t.rawData.length / 2)
    : Uint16Array.from(t.int32Data);
  const f32 = Float32Array.from(halves, f16BitsToF32);
  t.dataType = DataType.FLOAT;
  t.rawData = new Uint8Array(f32.buffer);
  t.int32Data = [];
}

function widenType(tp: TypeProto | null | undefined): void {
  if (tp?.tensorType && tp.tensorType.elemType === DataType.FLOAT16) tp.tensorType.elemType = DataType.FLOAT;
}

function widenAttr(a: AttributeProto, opType: string): void {
  if (a.t) widenTensor(a.t);
  a.tensors?.forEach(widenTensor);
  if (opType === 'Cast' && a.name === 'to' && Number(a.i) === DataType.FLOAT16) a.i = DataType.FLOAT;
}

export async function widenedModel(path: string): Promise<Uint8Array> {
  const { model } = await loadModelProto(path);
  const g = model.graph!;
  g.initializer.forEach(widenTensor);
  for (const v of [...g.input, ...g.output, ...g.valueInfo]) widenType(v.type);
  for (const n of g.node) n.attribute.forEach((a) => widenAttr(a, n.opType));
  return encodeModelProto(model);
}
