/**
 * The gradient-rule contract: one rule per ONNX op type, each in its own file under
 * `rules/`, registered in `rules/index.ts`. The tape (autodiff/tape.ts) calls a rule for
 * every recorded node that lies on a path from a trainable tensor to the loss.
 */
import type { Tensor } from '../../tensor/tensor.js';
import type { OpCall, Own } from '../ops/types.js';

export interface GradCall extends OpCall {
  /**
   * The forward inputs. Host tensors (shapes, axes, indices) are always here; device
   * tensors only where the rule's `saves.inputs` lists them (others may be freed already
   * and are `undefined`). `inputDims` is always complete.
   */
  inputs: (Tensor | undefined)[];
  inputDims: (readonly number[] | undefined)[];
  /** The forward outputs the rule's `saves.outputs` lists (Softmax, Exp, Tanh reuse y). */
  outputs: (Tensor | undefined)[];
  /** dL/d(output k), with output k's dims; `undefined` when no gradient reaches it (zero). */
  dOutputs: (Tensor | undefined)[];
  /** Which inputs need a gradient; compute nothing for the others. */
  wants: boolean[];
}

/**
 * dL/d(input i) for each wanted input, float32 with exactly input i's dims (sum over
 * broadcast axes inside the rule); `undefined` where not wanted or not differentiable
 * (indices, shapes). Intermediates the rule makes must be marked with `own` so they are
 * freed when the rule returns; inputs, outputs and dOutputs are never the rule's to free.
 */
export type GradFn = (c: GradCall, own: Own) => (Tensor | undefined)[];

export interface GradRule {
  grad: GradFn;
  /** Forward values the rule reads, so the tape keeps these and frees the rest early. */
  saves: { inputs: readonly number[]; outputs: readonly number[] };
}

/** Thrown when a node on the gradient path has no rule: names the op and the node. */
export class NoGradientError extends Error {
  constructor(
    readonly opType: string,
    readonly node: string,
  ) {
    super(`no gradient rule for ${opType} (node '${node}'), which lies between a trainable tensor and the loss`);
    this.name = 'NoGradientError';
  }
}

/**
 * A node whose op a tuner replaces for a run (a LoRA-wrapped MatMul): its forward, and a
 * gradient giving the node's input gradients plus those of the tensors the override owns
 * (lora_A, lora_B), keyed by the override's own names.
 */
export interface NodeOverride {
  forward: (c: import('../ops/types.js').OpCall) => (Tensor | undefined)[];
  saves: GradRule['saves'];
  /** The override holds trainable tensors: its outputs depend on them. */
  trainable: boolean;
  grad(c: GradCall, own: Own): { inputs: (Tensor | undefined)[]; params: Record<string, Tensor> };
}
