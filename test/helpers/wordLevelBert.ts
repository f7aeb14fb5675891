/**
 * A BERT-style word-level tokenizer built from a corpus, in Hugging Face's tokenizer.json
 * format: BertNormalizer (lowercase, uncased BERT's text cleaning), BertPreTokenizer
 * (whitespace and every punctuation character split off), a WordLevel model, and a
 * TemplateProcessing post-processor that writes `[CLS] … [SEP]` as bert-base-uncased's does.
 *
 * The vocabulary is the corpus's words (as that normalizer and pre-tokenizer split them,
 * run by @huggingface/tokenizers itself, so building and encoding cannot disagree) seen at
 * least `minCount` times, most frequent first (ties by code point), after the 4 specials.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

export const BERT_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;

export const BERT_WORD_LEVEL_CONFIG = { pad_token: '[PAD]', unk_token: '[UNK]', cls_token: '[CLS]', sep_token: '[SEP]', do_lower_case: true };

function tokenizerJson(vocab: Record<string, number>): object {
  const special = (content: string) => ({ SpecialToken: { id: content, type_id: 0 } });
  const seq = (id: 'A' | 'B', type_id: number) => ({ Sequence: { id, type_id } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: BERT_SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]'), seq('A', 0), special('[SEP]')],
      pair: [special('[CLS]'), seq('A', 0), special('[SEP]'), seq('B', 1), { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: Object.fromEntries(['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }])),
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
  };
}

/** The words of `text` as the tokenizer below splits them (normalized, pre-tokenized). */
function splitter(): (text: string) => string[] {
  const hf = new HfTokenizer(tokenizerJson(Object.fromEntries(BERT_SPECIALS.map((t, i) => [t, i]))), {});
  return (text) => hf.pre_tokenizer!.pre_tokenize(hf.normalizer!.normalize(text));
}

export interface WordLevelBert {
  /** tokenizer.json, parsed. */
  json: object;
  /** Words kept (not counting the specials). */
  words: number;
  /** Distinct words in the corpus (kept or not). */
  types: number;
}

/** A tokenizer over `texts`' words seen ≥ minCount times; at most `maxVocab` ids in all (specials included). */
export function wordLevelBert(texts: readonly string[], opts: { maxVocab: number; minCount?: number }): WordLevelBert {
  const split = splitter();
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of split(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const kept = [...counts]
    .filter(([w, n]) => n >= (opts.minCount ?? 1) && !(BERT_SPECIALS as readonly string[]).includes(w))
    .sort(([a, na], [b, nb]) => nb - na || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, opts.maxVocab - BERT_SPECIALS.length)
    .map(([w]) => w);
  const vocab = Object.fromEntries([...BERT_SPECIALS, ...kept].map((w, i) => [w, i]));
  return { json: tokenizerJson(vocab), words: kept.length, types: counts.size };
}
