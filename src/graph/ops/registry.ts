/**
 * Device ops by ONNX op type (default domain): name → run. The planner folds what it can
 * on the host first (`fold/hostOps.ts`); an op type in neither table is reported for the
 * whole model before anything runs.
 */
import * as C from './contrib.js';
import { einsum } from './einsum.js';
import * as F from './fallback.js';
import { groupQueryAttention } from './gqa.js';
import * as I from './indexing.js';
import * as L from './layout.js';
import * as M from './math.js';
import * as Q from './quant.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { DeviceOp } from './types.js';

export const DEVICE_OPS: Record<string, DeviceOp> = {
  MatMul: M.matMul,
  Gemm: M.gemm,
  Add: M.binaryOp('add'),
  Sub: M.binaryOp('sub'),
  Mul: M.binaryOp('mul'),
  Div: M.binaryOp('div'),
  Pow: M.binaryOp('pow'),
  Max: M.variadicOp('max'),
  Min: M.variadicOp('min'),
  Equal: M.binaryOp('equal'),
  Less: M.binaryOp('less'),
  Greater: M.binaryOp('greater'),
  LessOrEqual: M.binaryOp('less_equal'),
  GreaterOrEqual: M.binaryOp('greater_equal'),
  And: M.binaryOp('and'),
  Or: M.binaryOp('or'),
  Not: M.unaryOp('not'),
  Neg: M.unaryOp('neg'),
  Abs: M.unaryOp('abs'),
  Sqrt: M.unaryOp('sqrt'),
  Exp: M.unaryOp('exp'),
  Log: M.unaryOp('log'),
  Tanh: M.unaryOp('tanh'),
  Erf: M.unaryOp('erf'),
  Sigmoid: M.unaryOp('sigmoid'),
  Relu: M.unaryOp('relu'),
  Reciprocal: M.unaryOp('reciprocal'),
  Cos: M.unaryOp('cos'),
  Sin: M.unaryOp('sin'),
  Gelu: M.gelu,
  Where: M.where,
  Cast: M.cast,
  Softmax: M.softmax,
  LayerNormalization: M.layerNormalization,
  ReduceSum: M.reduceOp('sum', 13),
  ReduceMean: M.reduceOp('mean', 18),
  ReduceMax: M.reduceOp('max', 18),
  Identity: M.identity,
  Reshape: L.reshape,
  Unsqueeze: L.unsqueeze,
  Squeeze: L.squeeze,
  Flatten: L.flatten,
  Transpose: L.transpose,
  Concat: L.concat,
  Slice: L.slice,
  Split: L.split,
  Expand: L.expand,
  Gather: L.gather,
  Tile: L.tile,
  Einsum: einsum,
  CumSum: I.cumSum,
  ScatterND: I.scatterND,
  DequantizeLinear: Q.dequantizeLinear,
  // Normally folded on the host (fold/hostOps.ts); these run when an input is on the device.
  Range: F.range,
  ConstantOfShape: F.constantOfShape,
  Trilu: F.trilu,
  // ORT registers this contrib op in the default domain too; the GenAI builder uses it there.
  SimplifiedLayerNormalization: C.simplifiedLayerNorm,
};

/** com.microsoft ops (onnxruntime contrib ops). */
export const CONTRIB_OPS: Record<string, DeviceOp> = {
  SimplifiedLayerNormalization: C.simplifiedLayerNorm,
  SkipSimplifiedLayerNormalization: C.skipSimplifiedLayerNorm,
  SkipLayerNormalization: C.skipLayerNorm,
  FastGelu: C.fastGelu,
  BiasGelu: C.biasGelu,
  QuickGelu: C.quickGelu,
  RotaryEmbedding: C.rotaryEmbedding,
  MultiHeadAttention: C.multiHeadAttention,
  Attention: C.attention,
  EmbedLayerNormalization: C.embedLayerNorm,
  GroupQueryAttention: groupQueryAttention,
  MatMulNBits: Q.matMulNBits,
};

/** The device op for a node, by domain; undefined when there is none. */
export function deviceOp(domain: string, opType: string): DeviceOp | undefined {
  if (domain === '' || domain === 'ai.onnx') return DEVICE_OPS[opType];
  if (domain === 'com.microsoft') return CONTRIB_OPS[opType];
  return undefined;
}

/** Frees what ops cached for a constant input (MatMulNBits' dequantized weight). */
export function releaseOpCaches(constant: Tensor): void {
  Q.dropCachedWeight(constant);
}
