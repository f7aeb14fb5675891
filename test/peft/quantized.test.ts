/**
 * LoRA on a 4-bit MatMulNBits layer (the ONNX Runtime GenAI int4 form): the same adapter
 * on the quantized layer and on a float MatMul holding the dequantized weight must give the
 * same outputs and the same adapter gradients (the float path is checked against PyTorch
 * in lora.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { getPeftModel, loadModel, Tensor, type Backend } from '../../src/index.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { randn, rng } from '../helpers/numeric.js';
import { nodeModel } from '../helpers/onnxModel.js';
import { scaleError } from '../helpers/ort.js';

const [K, N, BLOCK, ROWS] = [40, 11, 16, 5];
const blocks = Math.ceil(K / BLOCK);
const r = rng(7);
const packed = new Tensor('uint8', Uint8Array.from({ length: N * blocks * (BLOCK / 2) }, () => Math.floor(r() * 256)), [N, blocks, BLOCK / 2]);
const scales = randn([N * blocks], 8, 0.005, 0.05);
const zp = new Tensor('uint8', Uint8Array.from({ length: N * Math.ceil(blocks / 2) }, () => Math.floor(r() * 256)), [N * Math.ceil(blocks / 2)]);
const bias = randn([N], 9);
const a = randn([ROWS, K], 10);

const quantized = nodeModel({
  opType: 'MatMulNBits', domain: 'com.microsoft', inputs: { A: a }, initializers: { B: packed, scales, zp, bias },
  nodeInputs: ['A', 'B', 'scales', 'zp', '', 'bias'], outputs: { logits: 'float32' }, attributes: { K, N, bits: 4, block_size: BLOCK },
});

/** The same layer as a float Gemm: W (N, K) dequantized by the cpu reference, transB = 1. */
function floatTwin(): Uint8Array {
  const w = new CpuBackend().dequantizeBlockwise(packed, scales, zp, N, K, 4, BLOCK);
  return nodeModel({ opType: 'Gemm', inputs: { A: a }, initializers: { W: w, bias }, outputs: { logits: 'float32' }, attributes: { transB: 1 } });
}

const CONFIG = { r: 3, lora_alpha: 6, target_modules: '.*', init_lora_weights: false, task_type: 'SEQ_CLS' };
const labels = new Tensor('int64', BigInt64Array.from([0n, 3n, 10n, 5n, 1n]), [ROWS]);

async function adapted(bytes: Uint8Array, backend: Backend) {
  const peft = getPeftModel(await loadModel(bytes, { backend, name: 'layer.onnx' }), CONFIG, 'default', { seed: 3 });
  // Same A and B on both layers, under each model's own (generated) module path.
  const [nameA, nameB] = Object.keys(peft.adapterTensors()).sort();
  peft.setAdapterTensors({ [nameA]: randn([3, K], 11), [nameB]: randn([N, 3], 12) });
  const y = await (await peft.run({ A: a })).logits.toArray();
  const { loss, grads } = await peft.computeGradients({ A: a, labels });
  return { y, loss, dA: await grads[nameA].toArray(), dB: await grads[nameB].toArray() };
}

function cases(backend: () => Promise<Backend>) {
  it('outputs and adapter gradients equal the float layer with the dequantized weight', async () => {
    const b = await backend();
    const q = await adapted(quantized, b);
    const f = await adapted(floatTwin(), b);
    expect(scaleError(q.y, f.y)).toBeLessThan(1e-5);
    expect(Math.abs(q.loss - f.loss)).toBeLessThan(1e-5 * Math.abs(f.loss));
    expect(scaleError(q.dA, f.dA)).toBeLessThan(1e-5);
    expect(scaleError(q.dB, f.dB)).toBeLessThan(1e-5);
  });
}

describe('LoRA on MatMulNBits (cpu)', () => cases(async () => new CpuBackend()));
describe.skipIf(!hasWebGpu)('LoRA on MatMulNBits (webgpu)', () => cases(gpu));
