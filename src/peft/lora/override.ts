/**
 * LoRA on one target node: the node's MatMul / Gemm / MatMulNBits runs as the fused LoRA matmul
 * (`Backend.loraMatmul`: y = x·W (+ bias) + s·(dropout(x)·Aᵀ)·Bᵀ), and its gradient is
 * `Backend.loraMatmulBackward` (dx, dA, dB without materialising W + s·Bᵀ·Aᵀ). W is the
 * node's weight input as the matmul sees it (after any Transpose the exporter put in
 * front), so the stored layout never matters here. The frozen W is only read.
 */
import type { NodeOverride } from '../../graph/autodiff/types.js';
import type { OpCall } from '../../graph/ops/types.js';
import type { DropoutSpec, LoraOptions } from '../../tensor/backend.js';
import { fmtDims } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { nbitsWeight } from '../../graph/ops/quant.js';

/** The adapter tensors of one module, read at every call (training replaces them). */
export interface LoraModule {
  /** (r, in): PEFT's lora_A.weight. */
  a: Tensor;
  /** (out, r): PEFT's lora_B.weight. */
  b: Tensor;
  scaling: number;
}

export interface LoraRunState {
  /** Dropout for this run (training), or none (inference). */
  dropout?: DropoutSpec;
  /** Gradients are wanted for A and B. */
  trainable: boolean;
}

interface Operands {
  x: Tensor;
  w: Tensor;
  opts: LoraOptions;
  beta?: [number, Tensor];
  /** A dequantized weight made for this call only (the caller frees it). */
  temporary?: Tensor;
}

/**
 * MatMulNBits: W (N, K) dequantized by the forward's own `nbitsWeight` — cached per packed
 * B when B is the executor's constant (`store`), made afresh when it is the tape's handle.
 */
function nbitsOperands(c: OpCall, base: LoraOptions, store: boolean): Operands {
  const [x, packed, scales, zp, gIdx, bias] = c.inputs;
  if (!x || !packed || !scales) throw new Error(`${c.where}: LoRA on MatMulNBits needs A, B and scales`);
  if (gIdx) throw new Error(`${c.where}: LoRA on MatMulNBits with g_idx is not supported`);
  const n = c.attrs.N as number;
  const k = c.attrs.K as number;
  const bits = typeof c.attrs.bits === 'number' ? c.attrs.bits : 4;
  const w = nbitsWeight(c.backend, packed, scales, zp, n, k, bits, c.attrs.block_size as number, store);
  return { x, w: w.t, opts: { ...base, transW: true, bias }, temporary: w.cached ? undefined : w.t };
}

/** Reads the node's x, W and bias and the matching LoraOptions; refuses Gemm forms LoRA cannot wrap. */
function operands(c: OpCall, opType: string, m: LoraModule, state: LoraRunState, store = true): Operands {
  const base: LoraOptions = { scaling: m.scaling, dropout: state.dropout };
  if (opType === 'MatMulNBits') return nbitsOperands(c, base, store);
  const [x, w, bias] = c.inputs;
  if (!x || !w) throw new Error(`${c.where}: LoRA needs both matmul inputs`);
  if (w.rank !== 2) throw new Error(`${c.where}: LoRA target weight must be 2-D, got ${fmtDims(w.dims)}`);
  if (opType === 'MatMul') return { x, w, opts: base };
  if (opType !== 'Gemm') throw new Error(`${c.where}: LoRA on ${opType} is not supported yet (MatMul, Gemm and MatMulNBits are)`);
  if (c.attrs.transA === 1) throw new Error(`${c.where}: LoRA on a Gemm with transA = 1 is not supported`);
  const alpha = typeof c.attrs.alpha === 'number' ? c.attrs.alpha : 1;
  if (alpha !== 1) throw new Error(`${c.where}: LoRA on a Gemm with alpha = ${alpha} is not supported`);
  const beta = typeof c.attrs.beta === 'number' ? c.attrs.beta : 1;
  const opts = { ...base, transW: c.attrs.transB === 1 };
  if (!bias || beta === 0) return { x, w, opts };
  if (beta === 1 && bias.rank === 1) return { x, w, opts: { ...opts, bias } };
  return { x, w, opts, beta: [beta, bias] };
}

export function loraOverride(opType: string, m: LoraModule, state: LoraRunState): NodeOverride {
  return {
    trainable: state.trainable,
    saves: { inputs: [0, 1, 2, 3, 5], outputs: [] },
    forward: (c) => {
      const made: Tensor[] = [];
      const own = (t: Tensor) => (made.push(t), t);
      const { x, w, opts, beta, temporary } = operands(c, opType, m, state);
      const y = c.backend.loraMatmul(x, w, m.a, m.b, opts);
      temporary?.dispose();
      if (!beta) return [y];
      // Gemm's C that is not a plain (N) bias: y + beta·C, as the base op would add it.
      const scaled = beta[0] === 1 ? beta[1] : c.backend.binary('mul', beta[1], own(c.backend.upload(new Tensor('float32', Float32Array.of(beta[0]), [1]))));
      const out = c.backend.binary('add', y, scaled);
      y.dispose();
      if (scaled !== beta[1]) scaled.dispose();
      for (const t of made) t.dispose();
      return [out];
    },
    grad: (c, own) => {
      const dy = c.dOutputs[0];
      if (!dy) return { inputs: [], params: {} as Record<string, Tensor> };
      const { x, w, opts, temporary } = operands(c, opType, m, state, false);
      if (temporary) own(temporary);
      const { dx, dA, dB } = c.backend.loraMatmulBackward(x, w, m.a, m.b, dy, opts);
      return { inputs: [c.wants[0] ? dx : own(dx)], params: { lora_A: dA, lora_B: dB } };
    },
  };
}

