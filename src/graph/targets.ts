/**
 * LoRA target discovery: every MatMul / Gemm / MatMulNBits whose weight is a constant
 * initializer — directly or through Transpose, Cast, Identity or DequantizeLinear — with
 * the Hugging Face module path it had before export, so PEFT's `target_modules` and
 * adapter tensor names apply unchanged.
 *
 * Module paths, best evidence first:
 *   1. the weight initializer's name: `transformer.h.0.attn.c_attn.weight`, or the ORT
 *      GenAI builder's `model.layers.0.attn.q_proj.MatMul.weight` (+ `_Q4` when quantized);
 *   2. the node's scope, as torch.onnx and the GenAI builder name nodes:
 *      `/model/layers.0/self_attn/q_proj/MatMul`;
 *   3. the name of the bias added to the output (`...q_lin.bias`): torch exports with
 *      folded, pre-transposed weights (`302`, `onnx::MatMul_12`) still name biases;
 *   4. otherwise a generated `matmul.<k>` / `gemm.<k>`, k counting targets in topological order.
 * Nothing is excluded here: the output head is only marked (`isOutputHead`), as PEFT's
 * all-linear exclusion is the tuner's decision.
 */
import type { DType, Tensor } from '../tensor/tensor.js';
import { consumers, producers, type GraphIR, type IrNode } from './ir.js';

export interface LoraTarget {
  /** Module path as PEFT names it: `model.layers.0.self_attn.q_proj`. */
  path: string;
  pathSource: 'initializer' | 'node-scope' | 'generated';
  /** The name the path was read from: a weight or bias initializer, or the node (for generated paths too). */
  pathFrom: string;
  /** The path as the file spells it, when a producer's convention was mapped to Hugging Face's. */
  renamedFrom?: string;
  /** The matmul node. */
  node: string;
  opType: 'MatMul' | 'Gemm' | 'FusedMatMul' | 'MatMulNBits';
  /** The stored weight initializer. */
  weight: string;
  inFeatures: number;
  outFeatures: number;
  /** True when the weight is stored [in, out] (PEFT's fan_in_fan_out, GPT-2's Conv1D); false for [out, in] (nn.Linear). */
  fanInFanOut: boolean;
  /** The stored weight's dtype (the quantized dtype for quantized weights). */
  dtype: DType;
  quantization?: { op: 'DequantizeLinear' | 'MatMulNBits'; bits: number };
  /** Op types between the stored weight and the matmul, nearest the weight first. */
  via: string[];
  /** Transformer block index, from `.h.3.`, `.layers.3.`, `.layer.3.`, `.blocks.3.` in the path. */
  layer: number | undefined;
  /** The matmul feeds a graph output (through bias adds and reshapes), or is named lm_head / embed_out. */
  isOutputHead: boolean;
}

interface WeightTrace {
  init: string;
  tensor: Tensor;
  /** An odd number of 2-D transposes lies between the stored weight and the matmul. */
  transposed: boolean;
  via: string[];
  quant?: LoraTarget['quantization'];
}

/** Every LoRA-able matmul in `ir`, in topological order. */
export function findLoraTargets(ir: GraphIR): LoraTarget[] {
  const ctx = new Ctx(ir);
  const targets: LoraTarget[] = [];
  for (const node of ir.nodes) {
    const t = ctx.describe(node, targets.length);
    if (t) targets.push(t);
  }
  return dedupePaths(targets);
}

class Ctx {
  readonly prod: Map<string, number>;
  readonly cons: Map<string, number[]>;
  readonly graphOutputs: Set<string>;
  /** Initializers read by Gather: embedding tables, whose names do not name a tied output head. */
  readonly embeddings = new Set<string>();

  constructor(readonly ir: GraphIR) {
    this.prod = producers(ir);
    this.cons = consumers(ir);
    this.graphOutputs = new Set(ir.outputs.map((o) => o.name));
    for (const n of ir.nodes) if (n.opType === 'Gather' && ir.initializers.has(n.inputs[0])) this.embeddings.add(n.inputs[0]);
  }

  describe(node: IrNode, ordinal: number): LoraTarget | undefined {
    const shape = this.linearShape(node);
    if (!shape) return undefined;
    const named = this.recoverPath(node, shape.trace, shape.outFeatures);
    const generated = `${node.opType === 'Gemm' ? 'gemm' : 'matmul'}.${ordinal}`;
    const path = named ? renameForProducer(named.path, this.ir.producer.name) : generated;
    return {
      path,
      pathSource: named?.source ?? 'generated',
      pathFrom: named?.from ?? node.name,
      ...(named && path !== named.path ? { renamedFrom: named.path } : {}),
      node: node.name,
      opType: node.opType as LoraTarget['opType'],
      weight: shape.trace.init,
      inFeatures: shape.inFeatures,
      outFeatures: shape.outFeatures,
      fanInFanOut: shape.fanInFanOut,
      dtype: shape.trace.tensor.dtype,
      ...(shape.trace.quant ? { quantization: shape.trace.quant } : {}),
      via: shape.trace.via,
      layer: layerIndex(named?.path ?? '') ?? layerIndex(scopePath(node.name) ?? ''),
      isOutputHead: this.feedsGraphOutput(node) || /(^|\.)(lm_head|embed_out)$/.test(path),
    };
  }

  /** in/out features and layout for a linear-layer matmul, or undefined when `node` is not one. */
  private linearShape(node: IrNode) {
    const a = node.attributes;
    if (node.domain === 'com.microsoft' && node.opType === 'MatMulNBits') return this.nbitsShape(node);
    const gemmLike = (node.domain === '' && node.opType === 'Gemm') || (node.domain === 'com.microsoft' && node.opType === 'FusedMatMul');
    if (!gemmLike && !(node.domain === '' && node.opType === 'MatMul')) return undefined;
    if (gemmLike && a.transA) return undefined; // x transposed: not x·W
    if (this.trace(node.inputs[0])) return undefined; // constant × constant is folding, not a layer
    const trace = this.trace(node.inputs[1]);
    if (!trace || trace.tensor.rank !== 2) return undefined;
    // Stored [K, N] is [in, out]; each transpose (Transpose nodes, Gemm's transB) flips it.
    const storedInOut = !(trace.transposed !== (gemmLike && !!a.transB));
    const [d0, d1] = trace.tensor.dims;
    return { trace, fanInFanOut: storedInOut, inFeatures: storedInOut ? d0 : d1, outFeatures: storedInOut ? d1 : d0 };
  }

  /** com.microsoft MatMulNBits: B is stored [N, blocks, blob] (out-major), K and N are attributes. */
  private nbitsShape(node: IrNode) {
    const init = node.inputs[1];
    const tensor = this.ir.initializers.get(init);
    const { K, N, bits } = node.attributes;
    if (!tensor || typeof K !== 'number' || typeof N !== 'number') return undefined;
    const quant = { op: 'MatMulNBits' as const, bits: typeof bits === 'number' ? bits : 4 };
    return { trace: { init, tensor, transposed: false, via: [], quant }, fanInFanOut: false, inFeatures: K, outFeatures: N };
  }

  /** Walks from a matmul input back to a constant initializer through weight-only ops. */
  trace(value: string): WeightTrace | undefined {
    const via: string[] = [];
    let transposed = false;
    let quant: WeightTrace['quant'];
    for (let v = value; ; ) {
      const tensor = this.ir.initializers.get(v);
      if (tensor) return { init: v, tensor, transposed, via: via.reverse(), quant };
      const p = this.prod.get(v);
      if (p === undefined) return undefined;
      const n = this.ir.nodes[p];
      if (n.opType === 'Transpose') {
        const perm = n.attributes.perm as number[] | undefined;
        if (perm && !(perm.length === 2 && (perm[0] === 1 || perm[0] === 0))) return undefined;
        if (!perm || perm[0] === 1) transposed = !transposed;
      } else if (n.opType === 'DequantizeLinear') {
        // uint4 weights were unpacked to uint8 on load, so they report 8 bits here.
        quant = { op: 'DequantizeLinear', bits: this.ir.initializers.get(n.inputs[0])?.dtype === 'int4' ? 4 : 8 };
      } else if (n.opType !== 'Cast' && n.opType !== 'Identity') {
        return undefined;
      }
      via.push(n.opType);
      v = n.inputs[0];
    }
  }

  private recoverPath(node: IrNode, trace: WeightTrace, outFeatures: number): NamedPath | undefined {
    const fromWeight = this.embeddings.has(trace.init) ? undefined : weightPath(trace.init);
    if (fromWeight) return { path: fromWeight, source: 'initializer', from: trace.init };
    const fromScope = scopePath(node.name);
    if (fromScope) return { path: fromScope, source: 'node-scope', from: node.name };
    const bias = this.biasName(node, outFeatures);
    const fromBias = bias && /^(.+)\.bias$/.exec(bias)?.[1];
    if (fromBias && isModulePath(fromBias)) return { path: fromBias, source: 'initializer', from: bias! };
    return undefined;
  }

  /** The 1-D [out] initializer added to the output: Gemm's C, or the other input of the Add that reads it. */
  private biasName(node: IrNode, out: number): string | undefined {
    const isBias = (v: string | undefined) => {
      const t = v ? this.ir.initializers.get(v) : undefined;
      return !!t && t.rank === 1 && t.dims[0] === out;
    };
    if (node.opType === 'Gemm' && isBias(node.inputs[2])) return node.inputs[2];
    const readers = this.cons.get(node.outputs[0]) ?? [];
    if (readers.length !== 1) return undefined;
    const add = this.ir.nodes[readers[0]];
    if (add.opType !== 'Add') return undefined;
    return add.inputs.find((v) => v !== node.outputs[0] && isBias(v));
  }

  /** Follows the output through bias adds and shape-only ops; true if it reaches a graph output. */
  private feedsGraphOutput(node: IrNode): boolean {
    const PASS = new Set(['Reshape', 'Identity', 'Cast', 'Squeeze', 'Unsqueeze', 'Flatten', 'Softmax', 'LogSoftmax']);
    const seen = new Set<string>();
    const stack = [node.outputs[0]];
    while (stack.length) {
      const v = stack.pop()!;
      if (this.graphOutputs.has(v)) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const i of this.cons.get(v) ?? []) {
        const n = this.ir.nodes[i];
        const biasAdd = n.opType === 'Add' && n.inputs.every((x) => x === v || this.ir.initializers.has(x));
        if (PASS.has(n.opType) || biasAdd) stack.push(n.outputs[0]);
      }
    }
    return false;
  }
}

interface NamedPath {
  path: string;
  source: 'initializer' | 'node-scope';
  from: string;
}

/** Dotted identifiers only: rejects `onnx::MatMul_12`, `302`, `/a/b`. */
function isModulePath(p: string): boolean {
  return /^[A-Za-z_]\w*(\.\w+)*$/.test(p);
}

/** `a.b.weight`, `a.b.MatMul.weight`, `a.b.MatMul.weight_Q4`, `a.b.weight_quantized` → `a.b`. */
export function weightPath(name: string): string | undefined {
  const m = /^(.+?)(?:\.(?:MatMul|Gemm|MatMulNBits))?\.(?:weight|qweight)(?:_Q\d+|_quantized|_quant)?$/.exec(name);
  return m && isModulePath(m[1]) ? m[1] : undefined;
}

/** `/model/layers.0/self_attn/q_proj/MatMul` → `model.layers.0.self_attn.q_proj` (the last segment names the op). */
export function scopePath(nodeName: string): string | undefined {
  if (!nodeName.startsWith('/')) return undefined;
  const segs = nodeName.split('/').filter(Boolean);
  if (segs.length < 2) return undefined;
  const path = segs.slice(0, -1).join('.');
  return isModulePath(path) ? path : undefined;
}

export function layerIndex(path: string): number | undefined {
  const m = /(?:^|\.)(?:h|layers?|blocks?)\.(\d+)(?:\.|$)/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/**
 * Producers whose names differ from the Hugging Face modules they export. The ORT GenAI
 * builder names every decoder's attention `attn`; HF's Llama, Mistral, Qwen, Phi-3 and
 * Gemma call it `self_attn`, which PEFT's adapter tensor names carry.
 */
const PRODUCER_RENAMES: Record<string, [RegExp, string][]> = {
  'onnxruntime-genai': [[/(\.layers\.\d+)\.attn\./, '$1.self_attn.']],
};

function renameForProducer(path: string, producer: string): string {
  return (PRODUCER_RENAMES[producer] ?? []).reduce((p, [re, to]) => p.replace(re, to), path);
}

/**
 * Two different weights must not share a module path (adapters are keyed by it): later
 * ones get `_1`, `_2` ... The same weight read by two matmuls keeps one path, as a module
 * called twice is one module in PEFT.
 */
function dedupePaths(targets: LoraTarget[]): LoraTarget[] {
  const owner = new Map<string, string>();
  for (const t of targets) {
    let path = t.path;
    for (let k = 1; owner.has(path) && owner.get(path) !== t.weight; k++) path = `${t.path}_${k}`;
    owner.set(path, t.weight);
    t.path = path;
  }
  return targets;
}
