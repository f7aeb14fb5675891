/**
 * The `cpu` backend: plain TypeScript, float64 accumulation where it is cheap. It is the
 * reference every device kernel is tested against, and the fallback. Each op family
 * lives in its own file beside this one.
 */
import type { Backend } from '../backend.js';
import { Tensor, type DType } from '../tensor.js';
import { toHost } from './common.js';
import * as elementwise from './elementwise.js';
import * as layout from './layout.js';
import * as lora from './lora.js';
import * as matmul from './matmul.js';
import * as norm from './norm.js';
import * as optim from './adamw.js';
import * as reduce from './reduce.js';
import * as quant from './quant.js';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;

  upload(t: Tensor): Tensor {
    return toHost(t);
  }
  zeros(dtype: DType, dims: readonly number[]): Tensor {
    return Tensor.zeros(dtype, dims);
  }
  async sync(): Promise<void> {}

  matmul = matmul.matmul;
  loraMatmul = lora.loraMatmul;
  loraMatmulBackward = lora.loraMatmulBackward;

  unary = elementwise.unary;
  unaryBackward = elementwise.unaryBackward;
  binary = elementwise.binary;
  binaryBackward = elementwise.binaryBackward;
  where = elementwise.where;
  cast = elementwise.cast;
  sumToShape = elementwise.sumToShape;

  reduce = reduce.reduce;
  reduceBackward = reduce.reduceBackward;
  softmax = reduce.softmax;
  softmaxBackward = reduce.softmaxBackward;
  crossEntropy = reduce.crossEntropy;
  crossEntropyBackward = reduce.crossEntropyBackward;

  layerNorm = norm.layerNorm;
  layerNormBackward = norm.layerNormBackward;
  rmsNorm = norm.rmsNorm;
  rmsNormBackward = norm.rmsNormBackward;

  gather = layout.gather;
  gatherBackward = layout.gatherBackward;
  transpose = layout.transpose;
  concat = layout.concat;
  slice = layout.slice;
  sliceBackward = layout.sliceBackward;
  expand = layout.expand;
  reshape = layout.reshape;

  cumsum = quant.cumsum;
  scatterND = quant.scatterND;
  dequantize = quant.dequantize;
  dequantizeBlockwise = quant.dequantizeBlockwise;

  adamw = optim.adamw;
}
