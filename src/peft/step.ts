/**
 * One forward and backward on a model with trainable tensors — LoRA node overrides and
 * variable initializers — shared by PeftModel and full fine-tuning.
 */
import { byLayer } from '../graph/autodiff/checkpoint.js';
import { Tape } from '../graph/autodiff/tape.js';
import type { NodeOverride } from '../graph/autodiff/types.js';
import type { Model } from '../graph/model.js';
import type { Tensor } from '../tensor/tensor.js';
import { causalLmLoss, mseLoss, sequenceClassificationLoss, type LossResult } from '../train/losses.js';

export interface StepInput {
  model: Model;
  batch: Record<string, Tensor>;
  taskType: string | undefined;
  overrides: Map<string, NodeOverride>;
  /** Variable initializers by name: their values for this run, and the names whose gradients are returned. */
  params: Map<string, Tensor>;
  /** Recompute each transformer layer's activations in the backward instead of keeping them. */
  checkpoint?: boolean;
}

export interface StepResult {
  loss: number;
  tokens: number;
  /** Gradients by override node → { param → tensor }. */
  overrides: Record<string, Record<string, Tensor>>;
  /** Gradients by variable initializer name. */
  params: Record<string, Tensor>;
}

export async function gradientStep(s: StepInput): Promise<StepResult> {
  const { labels, ...feeds } = s.batch;
  const tape = new Tape({ watch: [...s.params.keys()], checkpoint: s.checkpoint ? byLayer : undefined });
  const outputs = await s.model.run(feeds, { overrides: s.overrides, tape, params: s.params });
  const logitsName = 'logits' in outputs ? 'logits' : s.model.outputs[0].name;
  let loss: LossResult | undefined;
  try {
    loss = lossFor(s.model, outputs[logitsName], labels ?? feeds.input_ids, s.taskType);
    const { overrides, values } = tape.backward({ [logitsName]: loss.dLogits });
    const value = (await loss.loss.toArray())[0];
    return { loss: value, tokens: loss.tokens, overrides, params: values };
  } finally {
    tape.dispose();
    loss?.loss.dispose();
    loss?.dLogits.dispose();
    for (const t of Object.values(outputs)) t.dispose();
  }
}

/**
 * The loss Hugging Face picks: CAUSAL_LM → shifted cross-entropy; SEQ_CLS → cross-entropy
 * with class ids, or MSE when the labels are float (regression, num_labels = 1). Without
 * a task type, 3-D logits mean a causal LM.
 */
function lossFor(model: Model, logits: Tensor, labels: Tensor | undefined, task: string | undefined): LossResult {
  const b = model.backend;
  const kind = task ?? (logits.rank === 3 ? 'CAUSAL_LM' : 'SEQ_CLS');
  if (!labels) throw new Error(`computeGradients: ${kind} needs labels (or input_ids for a causal LM)`);
  if (kind === 'CAUSAL_LM') return causalLmLoss(b, logits, labels);
  if (kind === 'SEQ_CLS') return labels.dtype === 'float32' ? mseLoss(b, logits, labels) : sequenceClassificationLoss(b, logits, labels);
  throw new Error(`computeGradients: task_type '${kind}' has no loss yet (CAUSAL_LM and SEQ_CLS do)`);
}

/** What the Trainer trains: a PeftModel, or a FullFineTuneModel. */
export interface TrainableModel {
  readonly base: Model;
  /** The task that picks the loss; undefined: 3-D logits mean a causal LM. */
  readonly taskType: string | undefined;
  /** The adapter being trained (checkpoints record it). */
  readonly activeAdapter: string;
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  computeGradients(batch: Record<string, Tensor>, opts?: { seed?: number }): Promise<{ loss: number; tokens: number; grads: Record<string, Tensor> }>;
  /** Views of the live trainable tensors by name. */
  adapterTensors(): Record<string, Tensor>;
  setAdapterTensors(tensors: Record<string, Tensor>): void;
}
