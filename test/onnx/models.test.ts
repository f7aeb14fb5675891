/**
 * Real exporter output: the three third-party models in ../shared/models (skipped with a
 * message when absent) and the torch.onnx fixtures committed under test/fixtures/models.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unsupportedOps } from '../../src/graph/coverage.js';
import type { GraphIR } from '../../src/graph/ir.js';
import { findLoraTargets, type LoraTarget } from '../../src/graph/targets.js';
import { readOnnxModel, loadModelProto } from '../../src/onnx/index.js';
import { sharedModel, skipWithoutSharedModels } from '../helpers/sharedModels.js';

const opTypes = (ir: GraphIR) => new Set(ir.nodes.map((n) => (n.domain ? `${n.domain}::${n.opType}` : n.opType)));
const paths = (ts: LoraTarget[]) => ts.map((t) => t.path);
const io = (vs: GraphIR['inputs']) => vs.map((v) => `${v.name}:${v.dtype}[${v.dims.join(',')}]`);

describe.skipIf(skipWithoutSharedModels('ONNX reader tests on ../shared/models'))('third-party models', () => {
  describe('ORT GenAI tiny Llama (fp16, external data)', () => {
    const file = sharedModel('ortgenai-tiny-random-LlamaForCausalLM-fp16/model.onnx');

    it('reads fp16 weights from model.onnx.data at their offsets', async () => {
      const { externalFiles, model } = await loadModelProto(file);
      expect(externalFiles).toEqual([sharedModel('ortgenai-tiny-random-LlamaForCausalLM-fp16/model.onnx.data')]);
      expect(model.graph!.initializer.every((t) => t.dataLocation === 0 && t.rawData.length > 0)).toBe(true);
      const ir = await readOnnxModel(file);
      const q = ir.initializers.get('model.layers.0.attn.q_proj.MatMul.weight')!;
      expect([q.dtype, q.dims]).toEqual(['float16', [16, 16]]);
      expect([ir.initializers.get('lm_head.MatMul.weight')!.dims, ir.initializers.get('model.embed_tokens.weight')!.dims]).toEqual([
        [16, 32000],
        [32000, 16],
      ]);
      // Bit-exact against the file: q_proj is at offset 1024032, 512 bytes.
      const fd = openSync(file + '.data', 'r');
      const want = new Uint8Array(512);
      readSync(fd, want, 0, 512, 1024032);
      closeSync(fd);
      const got = q.hostData<Uint16Array>();
      expect(new Uint8Array(got.buffer, got.byteOffset, got.byteLength)).toEqual(want);
      expect([...ir.initializers.values()].filter((t) => t.rank > 0).every((t) => t.dtype === 'float16' || t.dtype === 'int64')).toBe(true);
    });

    it('graph inputs/outputs, opsets and ops', async () => {
      const ir = await readOnnxModel(file);
      expect(ir.producer.name).toBe('onnxruntime-genai');
      expect(ir.opsets).toEqual({ '': 14, 'com.microsoft': 1 });
      expect(io(ir.inputs)).toEqual([
        'input_ids:int64[batch_size,sequence_length]',
        'attention_mask:int64[batch_size,total_sequence_length]',
        'position_ids:int64[batch_size,sequence_length]',
        'past_key_values.0.key:float16[batch_size,1,past_sequence_length,16]',
        'past_key_values.0.value:float16[batch_size,1,past_sequence_length,16]',
        'past_key_values.1.key:float16[batch_size,1,past_sequence_length,16]',
        'past_key_values.1.value:float16[batch_size,1,past_sequence_length,16]',
      ]);
      expect(io(ir.outputs)[0]).toBe('logits:float16[batch_size,sequence_length,32000]');
      const ops = opTypes(ir);
      for (const op of ['MatMul', 'SimplifiedLayerNormalization', 'com.microsoft::RotaryEmbedding', 'com.microsoft::MultiHeadAttention', 'com.microsoft::SkipSimplifiedLayerNormalization']) {
        expect(ops).toContain(op);
      }
      expect(ops).not.toContain('Constant'); // folded into initializers
      const missing = unsupportedOps(ir, new Set([...ops].filter((k) => !k.startsWith('com.microsoft::'))));
      expect(missing.map((m) => [m.opType, m.domain, m.opset, m.firstNode])).toEqual([
        ['RotaryEmbedding', 'com.microsoft', 1, '/model/layers.0/attn/q_rotary/RotaryEmbedding'],
        ['MultiHeadAttention', 'com.microsoft', 1, '/model/layers.0/attn/MultiHeadAttention'],
        ['SkipSimplifiedLayerNormalization', 'com.microsoft', 1, '/model/layers.0/post_attention_layernorm/SkipLayerNorm'],
      ]);
    });

    it('targets: q/k/v/o and gate/up/down per layer with Hugging Face paths, plus lm_head', async () => {
      const ts = findLoraTargets(await readOnnxModel(file));
      const layer = (i: number) =>
        ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'].map((m) => `model.layers.${i}.${m}`);
      expect(paths(ts)).toEqual([...layer(0), ...layer(1), 'lm_head']);
      expect(ts[0]).toMatchObject({
        pathSource: 'initializer',
        renamedFrom: 'model.layers.0.attn.q_proj',
        node: '/model/layers.0/attn/q_proj/MatMul',
        weight: 'model.layers.0.attn.q_proj.MatMul.weight',
        inFeatures: 16,
        outFeatures: 16,
        fanInFanOut: true,
        dtype: 'float16',
        layer: 0,
        isOutputHead: false,
      });
      expect(ts.find((t) => t.path === 'model.layers.1.mlp.down_proj')).toMatchObject({ inFeatures: 64, outFeatures: 16, layer: 1 });
      expect(ts.at(-1)).toMatchObject({ path: 'lm_head', inFeatures: 16, outFeatures: 32000, isOutputHead: true, layer: undefined });
      expect(ts.filter((t) => t.isOutputHead)).toHaveLength(1);
    });
  });

  describe('ORT GenAI tiny GPT-2 (opset 11, fused contrib ops)', () => {
    const file = sharedModel('ortgenai-tiny-random-gpt2-fp32/past.onnx');

    it('inputs are int32 with symbolic dims; contrib ops are found', async () => {
      const ir = await readOnnxModel(file);
      expect(ir.opsets).toEqual({ '': 11, 'com.microsoft': 1 });
      expect(io(ir.inputs).slice(0, 4)).toEqual([
        'input_ids:int32[batch_size,seq_len]',
        'position_ids:int32[batch_size,seq_len]',
        'attention_mask:int32[batch_size,total_seq_len]',
        'past_0:float32[2,batch_size,4,past_seq_len,8]',
      ]);
      expect([...opTypes(ir)].sort()).toEqual(
        ['Cast', 'MatMul', 'com.microsoft::Attention', 'com.microsoft::EmbedLayerNormalization', 'com.microsoft::FastGelu', 'com.microsoft::SkipLayerNormalization'].sort(),
      );
      expect(ir.initializers.get('transformer.h.0.attn.c_attn.weight')!.dims).toEqual([32, 96]);
    });

    it('targets: c_proj and the MLP per layer (q/k/v live inside Attention), lm_head by node scope', async () => {
      const ts = findLoraTargets(await readOnnxModel(file));
      const layer = (i: number) => [`transformer.h.${i}.attn.c_proj`, `transformer.h.${i}.mlp.c_fc`, `transformer.h.${i}.mlp.c_proj`];
      expect(paths(ts)).toEqual([0, 1, 2, 3, 4].flatMap(layer).concat('lm_head'));
      expect(ts.every((t) => t.fanInFanOut)).toBe(true); // Conv1D layout, [in, out]
      expect(ts[1]).toMatchObject({ node: 'FullyConnect_MatMul_0', pathSource: 'initializer', inFeatures: 32, outFeatures: 128, layer: 0 });
      expect(ts.at(-1)).toMatchObject({ pathSource: 'node-scope', weight: 'onnx::MatMul_1400', outFeatures: 1000, isOutputHead: true });
    });
  });

  describe('optimum tiny DistilBERT (opset 11, numeric names)', () => {
    const file = sharedModel('optimum-tiny-distilbert-sst2/model.onnx');

    it('inputs, output, ops, Constants folded', async () => {
      const ir = await readOnnxModel(file);
      expect(ir.opsets).toEqual({ '': 11 });
      expect(io(ir.inputs)).toEqual(['input_ids:int64[batch,sequence]', 'attention_mask:int64[batch,sequence]']);
      expect(io(ir.outputs)).toEqual(['logits:float32[batch,2]']);
      for (const op of ['Gemm', 'Erf', 'MatMul', 'Softmax', 'Where', 'ReduceMean']) expect(opTypes(ir)).toContain(op);
      expect([ir.nodes.length, ir.initializers.size]).toEqual([160, 68 + 30]); // the file's 30 Constant nodes are initializers now
      expect(ir.initializers.get('302')!.dims).toEqual([2, 2]);
    });

    it('targets: paths recovered from bias names, Gemms from weight names, classifier is the head', async () => {
      const ts = findLoraTargets(await readOnnxModel(file));
      const layer = (i: number) =>
        ['attention.q_lin', 'attention.k_lin', 'attention.v_lin', 'attention.out_lin', 'ffn.lin1', 'ffn.lin2'].map((m) => `distilbert.transformer.layer.${i}.${m}`);
      expect(paths(ts)).toEqual([...layer(0), ...layer(1), 'pre_classifier', 'classifier']);
      expect(ts[0]).toMatchObject({ node: 'MatMul_27', weight: '302', pathSource: 'initializer', pathFrom: 'distilbert.transformer.layer.0.attention.q_lin.bias', fanInFanOut: true, layer: 0 });
      expect(ts.at(-1)).toMatchObject({ opType: 'Gemm', fanInFanOut: false, isOutputHead: true });
      expect(ts.filter((t) => t.pathSource === 'generated')).toEqual([]);
    });
  });
});

describe('torch.onnx fixtures (test/fixtures/models)', () => {
  const fixture = (name: string) => new URL(`../fixtures/models/${name}/model.onnx`, import.meta.url);

  it('tiny-llama: paths from node scopes, weights named onnx::MatMul_*', async () => {
    const ts = findLoraTargets(await readOnnxModel(fixture('tiny-llama')));
    expect(ts).toHaveLength(15);
    expect(ts[0]).toMatchObject({ path: 'model.layers.0.self_attn.q_proj', pathSource: 'node-scope', inFeatures: 32, outFeatures: 32, fanInFanOut: true });
    expect(ts[1]).toMatchObject({ path: 'model.layers.0.self_attn.k_proj', outFeatures: 16 });
    expect(ts.at(-1)).toMatchObject({ path: 'lm_head', isOutputHead: true });
  });

  it('tiny-gpt2: Conv1D Gemms are [in, out]', async () => {
    const ts = findLoraTargets(await readOnnxModel(fixture('tiny-gpt2')));
    expect(paths(ts).slice(0, 4)).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.0.attn.c_proj', 'transformer.h.0.mlp.c_fc', 'transformer.h.0.mlp.c_proj']);
    expect(ts[0]).toMatchObject({ opType: 'Gemm', fanInFanOut: true, inFeatures: 32, outFeatures: 96 });
  });

  it('tiny-bert: encoder paths from scopes, pooler and classifier Gemms [out, in]', async () => {
    const ts = findLoraTargets(await readOnnxModel(fixture('tiny-bert')));
    expect(paths(ts)).toContain('bert.encoder.layer.1.attention.self.value');
    expect(ts.at(-2)).toMatchObject({ path: 'bert.pooler.dense', fanInFanOut: false, isOutputHead: false });
    expect(ts.at(-1)).toMatchObject({ path: 'classifier', outFeatures: 2, isOutputHead: true });
  });
});
