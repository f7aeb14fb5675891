/**
 * "It generalises": a sentence classifier trained with the Trainer on real labelled
 * sentences beats chance clearly on sentences it never saw.
 *
 * Data: the yelp and amazon files of the UCI "Sentiment Labelled Sentences" dataset
 * (D. Kotzias, M. Denil, N. de Freitas, P. Smyth, "From Group to Individual Labels using
 * Deep Features", KDD 2015; https://archive.ics.uci.edu/dataset/331, listed there under
 * CC BY 4.0): 1000 review sentences each, half positive, half negative; 1983 after
 * dropping repeats, 400 of them held out. They are read at test time from the `sentiment`
 * npm package (devDependency, MIT, by Andrew Sliwinski), which ships them as
 * test/fixtures/{yelp,amazon}.json ({text, class}); this repo holds no copy of them.
 *
 * Model: test/fixtures/models/tiny-bert-2k (scripts/fixtures/make_fixtures.py): BERT's
 * layout and HF names, random weights, d 32, 2 layers, 2048 word ids, 2 labels. The
 * tokenizer is made here from the training split only (test/helpers/wordLevelBert.ts), so
 * held-out words it never saw are [UNK].
 *
 * Adapter: LoRA r 8 on query / value, plus modules_to_save ['classifier', 'word_embeddings'].
 * The word embeddings are trained because this base model is random: its frozen embeddings
 * are random points in 32 dimensions, and no adapter on the layers above can recover word
 * meaning they do not hold (a logistic regression on the mean of those embeddings reaches
 * about 0.67 held-out; LoRA alone, query/value or all-linear with the head trained, 0.63 to
 * 0.67). A pretrained model's embeddings hold it; here training them stands in for pretraining.
 *
 * Passes: held-out accuracy ≥ 0.65 on 400 sentences, and a one-sided exact binomial test
 * against a coin (p = 0.5) below 1e-4 (measured: 0.755, p ≈ 1e-25, about 35 s on 2 cores).
 * Everything is seeded (split, adapter init, batch order) and the cpu backend is
 * deterministic, so the result is the same on every run.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { expect, it } from 'vitest';
import { buildDataset, Dataset, permutation } from '../../src/data/dataset.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { loadModel } from '../../src/graph/model.js';
import { getPeftModel } from '../../src/peft/model.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { Trainer, type Batch, type StepEvent } from '../../src/train/trainer.js';
import { BERT_WORD_LEVEL_CONFIG, wordLevelBert } from '../helpers/wordLevelBert.js';

const MODEL = 'test/fixtures/models/tiny-bert-2k';
const SENTIMENT = dirname(createRequire(import.meta.url).resolve('sentiment/package.json'));

interface Sentence {
  text: string;
  label: number;
}

/** One file of the dataset; each ends with an empty `{text: '', class: null}` row, skipped. */
function sentences(name: 'yelp' | 'amazon' | 'imdb'): Sentence[] {
  const rows = JSON.parse(readFileSync(`${SENTIMENT}/test/fixtures/${name}.json`, 'utf8')) as { text: string; class: number | null }[];
  return rows.filter((r) => r.text.trim() !== '' && (r.class === 0 || r.class === 1)).map((r) => ({ text: r.text, label: r.class! }));
}

/** P(X ≥ k) for X ~ Binomial(n, 1/2): the exact one-sided p-value of k successes against a coin. */
function binomialTail(k: number, n: number): number {
  // log pmf(i) = log C(n, i) − n log 2, summed from i = n down (log-sum-exp, no underflow).
  let logPmf = -n * Math.LN2; // i = n
  let logSum = logPmf;
  for (let i = n; i > k; i--) {
    logPmf += Math.log(i / (n - i + 1)); // pmf(i − 1) = pmf(i) · i / (n − i + 1)
    const hi = Math.max(logSum, logPmf);
    logSum = hi + Math.log(Math.exp(logSum - hi) + Math.exp(logPmf - hi));
  }
  return Math.exp(logSum);
}

/** Batches of similar length (transformers' group_by_length): less padding; the Trainer shuffles their order. */
function lengthGrouped(ds: Dataset, batchSize: number): Batch[] {
  const sorted = [...ds.examples].sort((a, b) => a.input_ids.length - b.input_ids.length);
  return [...new Dataset(ds.task, sorted, ds.summary, ds.padId).batches(batchSize, { tokenTypeIds: true })];
}

it('binomialTail matches exact small cases', () => {
  expect(binomialTail(0, 10)).toBeCloseTo(1, 12);
  expect(binomialTail(10, 10)).toBeCloseTo(1 / 1024, 15);
  expect(binomialTail(8, 10)).toBeCloseTo((45 + 10 + 1) / 1024, 15);
  expect(binomialTail(5, 10)).toBeCloseTo(638 / 1024, 15);
});

it('tiny-bert-2k gives the logits PyTorch wrote beside it', async () => {
  type Ref = { dtype: 'int64' | 'float32'; dims: number[]; data: number[] };
  const ref = JSON.parse(readFileSync(`${MODEL}/reference.json`, 'utf8')).full as { inputs: Record<string, Ref>; outputs: { logits: Ref } };
  const feeds = Object.fromEntries(Object.entries(ref.inputs).map(([k, v]) => [k, new Tensor('int64', BigInt64Array.from(v.data.map(BigInt)), v.dims)]));
  const base = await loadModel(`${MODEL}/model.onnx`, { backend: new CpuBackend() });
  const got = await (await base.run(feeds)).logits.toArray();
  const want = ref.outputs.logits.data;
  const scale = Math.max(...want.map(Math.abs));
  expect(Math.max(...want.map((w, i) => Math.abs(got[i] - w))) / scale).toBeLessThan(1e-4);
  base.dispose();
});

it('LoRA + modules_to_save on tiny BERT classifies held-out review sentences well above chance', async () => {
  const t0 = performance.now();
  const both = [...sentences('yelp'), ...sentences('amazon')];
  expect(both.length).toBe(2000);
  expect(both.filter((s) => s.label === 1).length).toBe(1000);
  // 17 sentences come twice ("Great phone." four times); one copy each, so none is both trained on and held out.
  const unique = new Map<string, Sentence>();
  for (const s of both) if (!unique.has(s.text.trim().toLowerCase())) unique.set(s.text.trim().toLowerCase(), s);
  const all = [...unique.values()];
  expect(all.length).toBe(1983);
  const order = permutation(all.length, 2024);
  const heldOut = order.slice(0, 400).map((i) => all[i]);
  const train = order.slice(400).map((i) => all[i]);

  // Words seen at least twice in training; everything else (and every unseen held-out word) is [UNK].
  const vocab = wordLevelBert(train.map((s) => s.text), { maxVocab: 2048, minCount: 2 });
  const tok = new Tokenizer({ tokenizer: vocab.json, config: BERT_WORD_LEVEL_CONFIG });
  const jsonl = (rows: Sentence[]) => ({ name: 'sentences.jsonl', text: rows.map((r) => JSON.stringify(r)).join('\n') });
  const opts = { format: 'classification' as const, labels: ['negative', 'positive'], maxLength: 64 };
  const trainDs = buildDataset(jsonl(train), tok, opts);
  const evalDs = buildDataset(jsonl(heldOut), tok, opts);
  expect(trainDs.length).toBe(1583);
  expect(evalDs.length).toBe(400);
  const [cls, sep, unk] = ['[CLS]', '[SEP]', '[UNK]'].map((t) => tok.tokenToId(t)!);
  expect(trainDs.examples.every((e) => e.input_ids[0] === cls && e.input_ids.at(-1) === sep)).toBe(true);
  const unkShare = (ds: Dataset) => {
    const ids = ds.examples.flatMap((e) => e.input_ids.slice(1, -1));
    return ids.filter((id) => id === unk).length / ids.length;
  };
  const trainBatches = lengthGrouped(trainDs, 32);
  const evalBatches = lengthGrouped(evalDs, 100);

  const base = await loadModel(`${MODEL}/model.onnx`, { backend: new CpuBackend() });
  const peft = getPeftModel(base, {
    task_type: 'SEQ_CLS', r: 8, lora_alpha: 16, target_modules: ['query', 'value'], modules_to_save: ['classifier', 'word_embeddings'],
  }, 'default', { seed: 0 });
  const losses: number[] = [];
  const trainer = new Trainer(peft, {
    train: trainBatches, epochs: 4, lr: 1e-2, warmupRatio: 0.1, seed: 0,
    onEvent: (e) => void (e.type === 'step' && losses.push((e as StepEvent).loss)),
  });
  const before = await trainer.evaluate(evalBatches);
  const tTrain = performance.now();
  const result = await trainer.train();
  const trainSecs = (performance.now() - tTrain) / 1000;
  const after = await trainer.evaluate(evalBatches);

  const n = evalDs.length;
  const correct = Math.round(after.accuracy * n);
  const p = binomialTail(correct, n);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const lossStart = mean(losses.slice(0, 10));
  const lossEnd = mean(losses.slice(-10));
  const params = peft.trainableParameters();
  const adapter = peft.adapter();
  const lora = [...adapter.modules.values()].reduce((s, m) => s + m.a.size + m.b.size, 0);
  const full = [...adapter.full].map(([name, t]) => `${name} ${t.size}`).join(', ');
  console.log(
    `[classifier] yelp+amazon ${train.length} train / ${n} held-out; vocab ${vocab.words} words of ${vocab.types} (+4 specials), ` +
      `[UNK] ${(100 * unkShare(trainDs)).toFixed(1)}% of train / ${(100 * unkShare(evalDs)).toFixed(1)}% of held-out words; ` +
      `trainable ${params.trainable} of ${params.total} parameters (LoRA ${lora}; full copies: ${full})\n` +
      `[classifier] cpu ${result.step} steps (batch 32) in ${trainSecs.toFixed(1)} s, ${((performance.now() - t0) / 1000).toFixed(1)} s in all; ` +
      `train loss ${lossStart.toFixed(3)} → ${lossEnd.toFixed(3)} (mean of first / last 10 steps)\n` +
      `[classifier] held-out before: accuracy ${before.accuracy.toFixed(3)}, F1 ${before.f1.toFixed(3)}, loss ${before.loss.toFixed(3)}; ` +
      `after: accuracy ${after.accuracy.toFixed(3)} (${correct}/${n}), macro F1 ${after.f1.toFixed(3)}, loss ${after.loss.toFixed(3)}; ` +
      `one-sided binomial p vs 0.5 = ${p.toExponential(2)}`,
  );
  expect(result.stopped).toBe('completed');
  expect(lossEnd).toBeLessThan(lossStart);
  expect(n).toBeGreaterThanOrEqual(300);
  expect(after.accuracy).toBeGreaterThanOrEqual(0.65);
  expect(after.f1).toBeGreaterThanOrEqual(0.6); // not one class for everything
  expect(p).toBeLessThan(1e-4);
  trainer.dispose();
  peft.dispose();
  base.dispose();
});
