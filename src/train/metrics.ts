/**
 * Evaluation: the adapter in inference mode (`TrainableModel.run`, no dropout) over eval
 * batches, with the training loss and task metrics:
 *   loss        mean over every counted label position (or row) of all batches, so batches
 *               of unequal size weigh by their tokens, as one big batch would;
 *   perplexity  exp(loss), causal LM;
 *   accuracy, f1 (macro)  sequence classification, argmax of the logits against the labels
 *               (rows labelled -100 skipped); macro F1 is sklearn's f1_score(average='macro'):
 *               the unweighted mean over classes seen in labels or predictions of
 *               2·tp / (2·tp + fp + fn).
 */
import type { TrainableModel } from '../peft/step.js';
import type { Tensor } from '../tensor/tensor.js';
import { causalLmLoss, IGNORE_INDEX, sequenceClassificationLoss } from './losses.js';

export type Batch = Record<string, Tensor>;

export type TaskKind = 'CAUSAL_LM' | 'SEQ_CLS';

/** The adapter's task_type, or the logits' rank when it has none (as TrainableModel's loss does). */
export function taskKind(peft: TrainableModel, logits: Tensor): TaskKind {
  const t = peft.taskType ?? (logits.rank === 3 ? 'CAUSAL_LM' : 'SEQ_CLS');
  if (t !== 'CAUSAL_LM' && t !== 'SEQ_CLS') throw new Error(`evaluate: task_type '${t}' has no metrics yet (CAUSAL_LM and SEQ_CLS do)`);
  return t;
}

/** Accuracy and macro F1 of predicted vs true class ids; rows labelled -100 do not count. */
export function classificationMetrics(preds: ArrayLike<number>, labels: ArrayLike<number>): { accuracy: number; f1: number } {
  if (preds.length !== labels.length) throw new Error(`classificationMetrics: ${preds.length} predictions for ${labels.length} labels`);
  const tp = new Map<number, number>();
  const fp = new Map<number, number>();
  const fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  let n = 0;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const [p, l] = [preds[i], labels[i]];
    if (l === IGNORE_INDEX) continue;
    n++;
    if (p === l) {
      correct++;
      inc(tp, l);
    } else {
      inc(fp, p);
      inc(fn, l);
    }
  }
  if (n === 0) throw new Error('classificationMetrics: every label is -100; nothing to score');
  const classes = new Set([...tp.keys(), ...fp.keys(), ...fn.keys()]);
  let f1 = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0;
    f1 += (2 * t) / (2 * t + (fp.get(c) ?? 0) + (fn.get(c) ?? 0));
  }
  return { accuracy: correct / n, f1: f1 / classes.size };
}

/** Row-wise argmax of (B, C) logits read back to the host. */
async function argmaxRows(logits: Tensor): Promise<number[]> {
  const [B, C] = logits.dims;
  const v = await logits.data<Float32Array>();
  const out: number[] = [];
  for (let r = 0; r < B; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (v[r * C + c] > v[r * C + best]) best = c;
    out.push(best);
  }
  return out;
}

async function hostLabels(t: Tensor): Promise<number[]> {
  return t.toArray();
}

/** Loss (+ perplexity, or accuracy and macro F1) of the active adapter over `batches`. */
export async function evaluate(peft: TrainableModel, batches: readonly Batch[]): Promise<Record<string, number>> {
  if (batches.length === 0) throw new Error('evaluate: no eval batches');
  const b = peft.base.backend;
  let lossSum = 0;
  let tokens = 0;
  let kind: TaskKind | undefined;
  const preds: number[] = [];
  const labelsAll: number[] = [];
  for (const batch of batches) {
    const { labels: given, ...feeds } = batch;
    const outputs = await peft.run(feeds);
    try {
      const logits = outputs.logits ?? outputs[peft.base.outputs[0].name];
      kind ??= taskKind(peft, logits);
      const labels = given ?? (kind === 'CAUSAL_LM' ? feeds.input_ids : undefined);
      if (!labels) throw new Error(`evaluate: a ${kind} eval batch needs labels`);
      // The training loss functions; their dLogits (one extra kernel) is thrown away.
      const r = kind === 'CAUSAL_LM' ? causalLmLoss(b, logits, labels) : sequenceClassificationLoss(b, logits, labels);
      r.dLogits.dispose();
      lossSum += (await r.loss.toArray())[0] * r.tokens;
      r.loss.dispose();
      tokens += r.tokens;
      if (kind === 'SEQ_CLS') {
        preds.push(...(await argmaxRows(logits)));
        labelsAll.push(...(await hostLabels(labels)));
      }
    } finally {
      for (const t of Object.values(outputs)) t.dispose();
    }
  }
  const loss = lossSum / tokens;
  if (kind === 'CAUSAL_LM') return { loss, perplexity: Math.exp(loss) };
  return { loss, ...classificationMetrics(preds, labelsAll) };
}
