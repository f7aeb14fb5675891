/**
 * Batches from src/data feed computeGradients as they are (cpu backend, tiny fixtures):
 * the loss counts exactly the trained labels, and padding changes nothing — a padded
 * batch's loss is the token-weighted mean of its rows' own losses (tiny GPT-2, causal LM,
 * right padding), and the class-weighted mean for tiny BERT (SEQ_CLS, attention_mask 0 on
 * padding).
 */
import { describe, expect, it } from 'vitest';
import { collate } from '../../src/data/collate.js';
import { buildDataset, type Dataset } from '../../src/data/dataset.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { loadModel } from '../../src/graph/model.js';
import { getPeftModel, type PeftModel } from '../../src/peft/model.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { WORD_LEVEL_CONFIG, wordLevelJson } from './tinyTokenizer.js';

const tok = new Tokenizer({ tokenizer: wordLevelJson(), config: WORD_LEVEL_CONFIG }); // 21 ids < the fixtures' 97

async function lossOf(peft: PeftModel, batch: Record<string, Tensor>): Promise<{ loss: number; tokens: number }> {
  const g = await peft.computeGradients(batch);
  for (const t of Object.values(g.grads)) t.dispose();
  return { loss: g.loss, tokens: g.tokens };
}

/** Each row alone, then all rows padded together: the batch loss must be the weighted mean. */
async function paddingInvariance(peft: PeftModel, ds: Dataset, pick: (b: Record<string, Tensor>) => Record<string, Tensor>) {
  const rows = await Promise.all(ds.examples.map((e) => lossOf(peft, pick(collate([e], { padId: ds.padId, tokenTypeIds: true })))));
  const [batch] = [...ds.batches(ds.length, { tokenTypeIds: true })];
  const all = await lossOf(peft, pick(batch));
  const tokens = rows.reduce((s, r) => s + r.tokens, 0);
  const mean = rows.reduce((s, r) => s + r.loss * r.tokens, 0) / tokens;
  return { all, tokens, mean };
}

describe('batches into computeGradients (cpu)', () => {
  it('tiny GPT-2, prompt-completion: the loss counts the trained labels; padded batch = token-weighted mean of rows', async () => {
    const text = [
      { prompt: 'question : what is two plus two ?', completion: ' answer : four .' },
      { prompt: 'question : what is the sky ?', completion: ' answer : blue' },
      { prompt: 'question : grass ?', completion: ' answer : the grass is green .' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const ds = buildDataset({ name: 'qa.jsonl', text }, tok);
    const base = await loadModel('test/fixtures/models/tiny-gpt2/model.onnx', { backend: new CpuBackend() });
    const peft = getPeftModel(base, { task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: ['c_attn'], init_lora_weights: false }, 'default', { seed: 3 });
    // This GPT-2 export takes input_ids only; right padding needs no mask in a causal model.
    const r = await paddingInvariance(peft, ds, ({ input_ids, labels }) => ({ input_ids, labels }));
    expect(r.all.tokens).toBe(ds.summary.trainedTokens);
    expect(r.tokens).toBe(ds.summary.trainedTokens);
    expect(ds.summary.trainedTokens).toBe(4 + 1 + (3 + 1) + (7 + 1)); // completion words + EOS, per row
    expect(Math.abs(r.all.loss - r.mean) / r.mean).toBeLessThan(1e-5);
    peft.dispose();
    base.dispose();
  });

  it('tiny BERT, classification: labels (B); attention_mask hides the padding, so the padded batch = mean of rows', async () => {
    const text = 'text,label\nthe sky is blue,sky\ngrass is green .,grass\nwhat is two plus three plus four ?,sky\n';
    const ds = buildDataset({ name: 'cls.csv', text }, tok);
    expect(ds.summary.labels?.names).toEqual(['sky', 'grass']);
    const base = await loadModel('test/fixtures/models/tiny-bert/model.onnx', { backend: new CpuBackend() });
    const peft = getPeftModel(base, { task_type: 'SEQ_CLS', r: 4, lora_alpha: 8, target_modules: ['query', 'value'], init_lora_weights: false }, 'default', { seed: 2 });
    const r = await paddingInvariance(peft, ds, (b) => b);
    expect(r.all.tokens).toBe(3);
    expect(Math.abs(r.all.loss - r.mean) / r.mean).toBeLessThan(1e-5);
    peft.dispose();
    base.dispose();
  });
});
