/**
 * A small byte-level BPE tokenizer written by hand in Hugging Face's tokenizer.json format
 * (the GPT-2 / Llama 3 / Qwen family layout): the 256 byte symbols, a few whole-word merges,
 * ChatML special tokens, and a TemplateProcessing post-processor that prepends <s> like
 * Llama's. Every string round-trips through encode/decode.
 */

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
export function byteSymbols(): string[] {
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    out[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return out;
}

export const SPECIALS = ['<pad>', '<s>', '</s>', '<unk>', '<|im_start|>', '<|im_end|>'] as const;
/**
 * Words that become one token each (with and without a leading space). Their merges are
 * chained left to right in this order, which is chosen so that no earlier merge breaks a
 * later word (as 'h'+'e' from "hello" would break "the" if it came first).
 */
export const WORDS = ['the', 'there', 'what', 'hello', 'world', 'user', 'assistant', 'system', 'hi', 'answer', 'is'];

export function tinyTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  SPECIALS.forEach(add);
  byteSymbols().forEach(add);
  const merges: [string, string][] = [];
  const space = byteSymbols()[32]; // 'Ġ'
  for (const w of WORDS) {
    const chars = Array.from(w);
    let acc = chars[0];
    for (const c of chars.slice(1)) {
      if (!(acc + c in vocab)) merges.push([acc, c]);
      acc += c;
      add(acc);
    }
  }
  for (const w of WORDS) {
    merges.push([space, w]); // after every word is whole, so ' world' is 'Ġ' + 'world'
    add(space + w);
  }
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

export const CHATML = [
  '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}',
  '{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}',
].join('');

export function tinyTokenizerConfig(): Record<string, unknown> {
  return {
    bos_token: '<s>',
    eos_token: { __type: 'AddedToken', content: '</s>', lstrip: false, normalized: false, rstrip: false, single_word: false },
    pad_token: '<pad>',
    unk_token: '<unk>',
    chat_template: CHATML,
    clean_up_tokenization_spaces: false,
  };
}

/**
 * A WordLevel tokenizer (whitespace-split words, no merges) over few enough words to fit
 * the tiny test models' 97-token vocabulary; unknown words become <unk>.
 */
export const WORD_LEVEL_WORDS = ['<pad>', '<s>', '</s>', '<unk>', 'question', 'answer', ':', 'what', 'is', 'two', 'plus', 'three', 'four', 'five', 'the', 'sky', 'blue', 'grass', 'green', '?', '.'];

export function wordLevelJson(words: readonly string[] = WORD_LEVEL_WORDS): object {
  return {
    version: '1.0',
    added_tokens: ['<pad>', '<s>', '</s>', '<unk>'].map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: '<unk>' },
  };
}

export const WORD_LEVEL_CONFIG = { bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' };
