/**
 * The `Backend` contract: every op the graph executor and the trainer need, forward
 * and backward. Ops are synchronous and return new tensors on the backend (device work
 * is only recorded; `await t.data()` reads back). Float ops take and return float32;
 * index inputs are int32 (int64 indices are narrowed by `upload`, with a range check).
 *
 * The `cpu` backend is the reference: each webgpu / gpujs op is tested against it.
 * Semantics follow ONNX (and PyTorch for the backward formulas).
 */
import type { DType, Location, Tensor } from './tensor.js';

export type UnaryOp =
  | 'neg' | 'abs' | 'sqrt' | 'exp' | 'log' | 'tanh' | 'erf' | 'sigmoid' | 'relu'
  | 'gelu' /* erf form: x·Φ(x) */ | 'gelu_tanh' /* tanh approximation, as FastGelu */
  | 'silu' | 'reciprocal' | 'cos' | 'sin' | 'not';

export type BinaryOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min'
  /* comparisons and logic return bool (0/1) tensors */
  | 'equal' | 'less' | 'greater' | 'less_equal' | 'greater_equal' | 'and' | 'or';

export type ReduceOp = 'sum' | 'mean' | 'max';

export interface MatmulOptions {
  /** Treat the last two dims of `a` as transposed: a is (..., K, M). */
  transA?: boolean;
  /** Treat the last two dims of `b` as transposed: b is (..., N, K). */
  transB?: boolean;
  /** (N) added to every output row: the Gemm / Linear bias epilogue. */
  bias?: Tensor;
  /** Multiplies a·b before the bias (Gemm's alpha). Default 1. */
  alpha?: number;
}

export interface DropoutSpec {
  /** Drop probability in [0, 1). Kept values are scaled by 1 / (1 - p). */
  p: number;
  /** Seed; the mask is a pure function of (seed, element index), so backward regenerates it. */
  seed: number;
}

export interface LoraOptions {
  /** LoRA scaling s: lora_alpha / r, or lora_alpha / √r with rsLoRA. Data, not a compile-time choice. */
  scaling: number;
  /** (N) base-layer bias. */
  bias?: Tensor;
  /** W is stored (N, K) (torch Linear layout) instead of (K, N). */
  transW?: boolean;
  /** Dropout on the LoRA branch input, as PEFT's `lora_dropout`. */
  dropout?: DropoutSpec;
}

export interface LoraGrads {
  dx: Tensor; // (M, K)
  dA: Tensor; // (r, K)  — PEFT's lora_A.weight layout
  dB: Tensor; // (N, r)  — PEFT's lora_B.weight layout
}

export interface SoftmaxOptions {
  /** Mask j > i + (Tk - Tq) over the last two dims (attention with a KV cache offset). */
  causal?: boolean;
  /**
   * (B, Tk) keep-mask, 1 = attend, 0 = padding. The input is read as (B, H, Tq, Tk) with
   * H = size / (B·Tq·Tk); masked positions get probability 0.
   */
  keyMask?: Tensor;
}

export interface NormResult {
  y: Tensor;
  /** (rows) per-row mean (LayerNorm only) and 1/σ, kept for the backward. */
  mean?: Tensor;
  invStd: Tensor;
  /** x + residual, when a residual was given (SkipLayerNorm's second output). */
  sum?: Tensor;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step, for bias correction. */
  step: number;
}

export interface Backend {
  readonly name: Location;

  // ── data movement ─────────────────────────────────────────────
  /** Brings a tensor onto this backend (no copy if already there). */
  upload(t: Tensor): Tensor;
  zeros(dtype: DType, dims: readonly number[]): Tensor;
  /** Waits until recorded device work is done. */
  sync(): Promise<void>;

  // ── matmul ────────────────────────────────────────────────────
  /** a (..., M, K) · b (..., K, N) → (..., M, N); leading dims broadcast. */
  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor;
  /** y = x·W (+ bias) + s·(dropout(x)·Aᵀ)·Bᵀ; x (M, K), W (K, N), A (r, K), B (N, r) → (M, N). */
  loraMatmul(x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions): Tensor;
  /** Gradients of loraMatmul given dy (M, N); never materializes W + s·Bᵀ·Aᵀ. */
  loraMatmulBackward(x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions): LoraGrads;

  // ── elementwise ───────────────────────────────────────────────
  unary(op: UnaryOp, x: Tensor): Tensor;
  /** dx = dy · f'(x). */
  unaryBackward(op: UnaryOp, x: Tensor, dy: Tensor): Tensor;
  /** Numpy broadcasting. */
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor;
  /** Gradients for add/sub/mul/div/pow/max/min, each summed back to its input's shape. */
  binaryBackward(op: BinaryOp, a: Tensor, b: Tensor, dy: Tensor): { da: Tensor; db: Tensor };
  /** cond ? a : b with broadcasting; cond is bool. */
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor;
  cast(x: Tensor, to: DType): Tensor;
  /** Sums `x` over broadcast dims so it has `dims` (the backward of broadcasting). */
  sumToShape(x: Tensor, dims: readonly number[]): Tensor;

  // ── reductions and softmax ────────────────────────────────────
  reduce(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor;
  /** dx for reduce, given the forward input x (for max) and dy with the reduced shape. */
  reduceBackward(op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean, dy: Tensor): Tensor;
  /** Softmax over the last axis. */
  softmax(x: Tensor, opts?: SoftmaxOptions): Tensor;
  /** dx = y ⊙ (dy − Σ dy ⊙ y) over the last axis. */
  softmaxBackward(y: Tensor, dy: Tensor): Tensor;
  /** Per-row cross-entropy of logits (N, V) with int32 labels (N); rows whose label is ignoreIndex give 0. Returns the mean over kept rows as a (1) tensor. */
  crossEntropy(logits: Tensor, labels: Tensor, ignoreIndex?: number): Tensor;
  /** dlogits = (softmax − onehot) · dLoss / kept, 0 for ignored rows; dLoss is a (1) tensor. */
  crossEntropyBackward(logits: Tensor, labels: Tensor, dLoss: Tensor, ignoreIndex?: number): Tensor;

  // ── normalization ─────────────────────────────────────────────
  /** Over the last axis: (x [+ residual] − mean)/σ · gamma + beta. */
  layerNorm(x: Tensor, gamma: Tensor, beta: Tensor | undefined, eps: number, residual?: Tensor): NormResult;
  /**
   * `x` is the normalized input: `NormResult.sum` when the forward had a residual, and
   * then dx is dL/d(sum), which the caller routes to both addends. mean/invStd are (rows).
   */
  layerNormBackward(x: Tensor, gamma: Tensor, mean: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor; dBeta: Tensor };
  /** Over the last axis: x [+ residual] · 1/√(mean(x²) + eps) · gamma. */
  rmsNorm(x: Tensor, gamma: Tensor, eps: number, residual?: Tensor): NormResult;
  /** As layerNormBackward: `x` is the sum when there was a residual. */
  rmsNormBackward(x: Tensor, gamma: Tensor, invStd: Tensor, dy: Tensor): { dx: Tensor; dGamma: Tensor };

  // ── indexing and layout ───────────────────────────────────────
  /** ONNX Gather: out = data indexed by int32 `indices` along `axis` (negative indices wrap). */
  gather(data: Tensor, indices: Tensor, axis: number): Tensor;
  /** Scatter-add of dy back into zeros of `dataDims`; deterministic (no float atomics). */
  gatherBackward(indices: Tensor, dy: Tensor, dataDims: readonly number[], axis: number): Tensor;
  transpose(x: Tensor, perm: readonly number[]): Tensor;
  concat(xs: readonly Tensor[], axis: number): Tensor;
  /** ONNX Slice semantics, starts/ends already clamped by the caller or clamped here. */
  slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tensor;
  /** Zeros of `xDims` with dy written into the sliced region. */
  sliceBackward(dy: Tensor, xDims: readonly number[], starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tensor;
  /** Numpy-broadcast x to `dims` (ONNX Expand). */
  expand(x: Tensor, dims: readonly number[]): Tensor;
  /** Same data, new dims (no copy where the backend allows). */
  reshape(x: Tensor, dims: readonly number[]): Tensor;

  // ── indexing and quantization (ONNX ops beyond the transformer core) ──
  /** ONNX CumSum along `axis`. */
  cumsum(x: Tensor, axis: number, exclusive: boolean, reverse: boolean): Tensor;
  /** ONNX ScatterND (reduction 'none' or 'add'): a copy of data with updates written at int32 indices (…, k). */
  scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction?: 'none' | 'add'): Tensor;
  /**
   * DequantizeLinear: (x − zeroPoint) · scale → float32, x int8/uint8/int4. Per-tensor
   * (scale a scalar), per-axis (scale (dims[axis])), or blocked along `axis` (blockSize > 0).
   */
  dequantize(x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number, blockSize?: number): Tensor;
  /**
   * MatMulNBits' weight layout → float32 (N, K): B uint8 (N, ⌈K/block⌉, block·bits/8),
   * scales (N·⌈K/block⌉), zero points packed like B (default 2^(bits−1)). bits = 4 (or 8).
   */
  dequantizeBlockwise(b: Tensor, scales: Tensor, zeroPoints: Tensor | undefined, n: number, k: number, bits: number, blockSize: number): Tensor;

  // ── optimizer ─────────────────────────────────────────────────
  /** In-place AdamW (decoupled weight decay, bias-corrected) on param, m and v. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, opts: AdamWOptions): void;
}
