/**
 * Tokenizer: a hand-written byte-level BPE tokenizer.json (and a WordLevel one) through
 * @huggingface/tokenizers, roles from tokenizer_config.json, chat templates through
 * @huggingface/jinja, addSpecialTokens' report; and the real tokenizers in ../shared/models
 * (Llama, DistilBERT, GPT-2) against ids known from the Python tokenizers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { sharedModel, skipWithoutSharedModels } from '../helpers/sharedModels.js';
import { CHATML, tinyTokenizerConfig, tinyTokenizerJson, WORD_LEVEL_CONFIG, wordLevelJson, WORDS } from './tinyTokenizer.js';

const tiny = () => new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig() });

describe('Tokenizer (hand-written byte-level BPE)', () => {
  it('encodes with and without special tokens; whole words merge; decode round-trips any text', () => {
    const t = tiny();
    const hello = t.tokenToId('hello')!;
    const world = t.tokenToId('Ġworld')!;
    expect(t.encode('hello world')).toEqual([1, hello, world]);
    expect(t.encode('hello world', { addSpecialTokens: false })).toEqual([hello, world]);
    for (const s of ['hello world', ' leading space', 'héllo\nwörld  two  spaces', 'emoji 🤗 ok', '']) {
      const ids = t.encode(s, { addSpecialTokens: false });
      expect(t.decode(ids)).toBe(s);
    }
    expect(t.decode(t.encode('hello'))).toBe('<s>hello');
    expect(t.decode(t.encode('hello'), { skipSpecialTokens: true })).toBe('hello');
    expect(t.decode([])).toBe('');
  });

  it('each of its words is one token, with or without a leading space', () => {
    const t = tiny();
    for (const w of WORDS) {
      expect(t.encode(w, { addSpecialTokens: false })).toEqual([t.tokenToId(w)]);
      expect(t.encode(' ' + w, { addSpecialTokens: false })).toEqual([t.tokenToId('Ġ' + w)]);
    }
  });

  it('special tokens in text are single ids, never split', () => {
    const t = tiny();
    expect(t.encode('<|im_start|>hi<|im_end|>', { addSpecialTokens: false })).toEqual([4, t.tokenToId('hi'), 5]);
  });

  it('roles come from tokenizer_config.json (strings or AddedToken dicts)', () => {
    const t = tiny();
    expect([t.bosId, t.eosId, t.padId, t.unkId]).toEqual([1, 2, 0, 3]);
    expect(t.special('eos')).toEqual({ token: '</s>', id: 2 });
    expect(t.specialTokens.map((s) => s.token)).toEqual(['<pad>', '<s>', '</s>', '<unk>', '<|im_start|>', '<|im_end|>']);
    const bare = new Tokenizer({ tokenizer: tinyTokenizerJson() });
    expect(bare.eosId).toBeUndefined();
    expect(bare.chatTemplate).toBeUndefined();
  });

  it('a role naming a token outside the vocabulary is an error', () => {
    expect(() => new Tokenizer({ tokenizer: tinyTokenizerJson(), config: { eos_token: '<|eot|>' } })).toThrow(/eos_token '<\|eot\|>' is not in the vocabulary/);
    expect(() => new Tokenizer({ tokenizer: '{not json' })).toThrow(/tokenizer.json: not valid JSON/);
    expect(() => new Tokenizer({ tokenizer: {} })).toThrow(/no "model" object/);
  });

  it('applyChatTemplate renders the config template with add_generation_prompt and the special tokens', () => {
    const t = tiny();
    const msgs = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }];
    expect(t.applyChatTemplate(msgs)).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n');
    expect(t.applyChatTemplate(msgs.slice(0, 1), { addGenerationPrompt: true })).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    const withBos = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig(), chatTemplate: '{{ bos_token }}{{ eos_token }}{{ flag }}' });
    expect(withBos.applyChatTemplate([], { variables: { flag: 'x' } })).toBe('<s></s>x');
  });

  it('picks a named template from a list, and says which names exist', () => {
    const config = { ...tinyTokenizerConfig(), chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T' }] };
    expect(new Tokenizer({ tokenizer: tinyTokenizerJson(), config }).applyChatTemplate([])).toBe('D');
    expect(new Tokenizer({ tokenizer: tinyTokenizerJson(), config, chatTemplateName: 'tool_use' }).applyChatTemplate([])).toBe('T');
    expect(() => new Tokenizer({ tokenizer: tinyTokenizerJson(), config, chatTemplateName: 'rag' })).toThrow(/no chat template named 'rag' \(it has: default, tool_use\)/);
    expect(() => new Tokenizer({ tokenizer: tinyTokenizerJson() }).applyChatTemplate([])).toThrow(/no chat_template/);
  });

  it("raise_exception in a template surfaces the template's message", () => {
    const t = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig(), chatTemplate: "{{ raise_exception('roles must alternate') }}" });
    expect(() => t.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow(/roles must alternate/);
  });

  it('addSpecialTokens: new tokens get the next ids and are never split; existing ones keep theirs; the report says the embedding must grow', () => {
    const t = tiny();
    const before = t.vocabSize;
    const r = t.addSpecialTokens(['<tool>', '</s>', 'hello', '<tool>', '<think>']);
    expect(r.vocabSize).toBe(before);
    expect(r.added).toEqual([{ token: '<tool>', id: before }, { token: '<think>', id: before + 1 }]);
    expect(r.existing).toEqual([{ token: '</s>', id: 2 }, { token: 'hello', id: t.tokenToId('hello') }]);
    expect(r.newVocabSize).toBe(before + 2);
    expect(r.embeddingMustGrow).toBe(true);
    expect(t.vocabSize).toBe(before + 2);
    expect(t.encode('say<tool>hello', { addSpecialTokens: false })).toContain(before);
    expect(t.decode(t.encode('a<tool>b<think>'), { skipSpecialTokens: true })).toBe('ab');
    expect(t.specialTokens.map((s) => s.token)).toContain('hello'); // now special, as HF marks it
    // An embedding padded beyond the vocabulary (common: 32000 → 32064) may already have room.
    expect(tiny().addSpecialTokens(['<a>'], { embeddingRows: before + 64 }).embeddingMustGrow).toBe(false);
    expect(tiny().addSpecialTokens(['</s>']).embeddingMustGrow).toBe(false);
    expect((t.toJSON() as { added_tokens: { content: string }[] }).added_tokens.map((a) => a.content)).toContain('<think>');
  });

  it('fromDirectory reads tokenizer.json, tokenizer_config.json and chat_template.jinja', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webpeft-tok-'));
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
    expect((await Tokenizer.fromDirectory(dir)).eosId).toBeUndefined(); // no config: fine
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tinyTokenizerConfig(), chat_template: undefined }));
    writeFileSync(join(dir, 'chat_template.jinja'), CHATML);
    const t = await Tokenizer.fromDirectory(dir);
    expect(t.eosId).toBe(2);
    expect(t.chatTemplate).toBe(CHATML);
    await expect(Tokenizer.fromDirectory(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});

describe('Tokenizer (hand-written WordLevel)', () => {
  it('splits on whitespace; unknown words are <unk>', () => {
    const t = new Tokenizer({ tokenizer: wordLevelJson(), config: WORD_LEVEL_CONFIG });
    expect(t.encode('what is two plus zebra ?')).toEqual([7, 8, 9, 10, 3, 19]);
    expect(t.decode([7, 8, 9])).toBe('what is two');
  });
});

describe.skipIf(skipWithoutSharedModels('data/tokenizer (real tokenizers)'))('real tokenizers from ../shared/models', () => {
  it('Llama (SentencePiece BPE): <s> + ▁Hello ▁world, as LlamaTokenizerFast; its Llama-2 chat template', async () => {
    const t = await Tokenizer.fromDirectory(sharedModel('ortgenai-tiny-random-LlamaForCausalLM-fp16'));
    expect(t.encode('Hello world')).toEqual([1, 15043, 3186]);
    expect(t.tokenToId('▁Hello')).toBe(15043);
    expect(t.decode(t.encode('Hello world'), { skipSpecialTokens: true })).toBe('Hello world');
    expect([t.bosId, t.eosId, t.unkId, t.padId]).toEqual([1, 2, 0, 0]);
    const chat = t.applyChatTemplate([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }]);
    expect(chat).toBe('<s>[INST] hi [/INST] hello </s>');
    expect(() => t.applyChatTemplate([{ role: 'assistant', content: 'x' }])).toThrow(/Conversation roles must alternate/);
  });

  it('DistilBERT (WordPiece): [CLS] hello world [SEP] = 101 7592 2088 102', async () => {
    const t = await Tokenizer.fromDirectory(sharedModel('optimum-tiny-distilbert-sst2'));
    expect(t.encode('Hello world')).toEqual([101, 7592, 2088, 102]);
    expect(t.decode([101, 7592, 2088, 102], { skipSpecialTokens: true })).toBe('hello world');
  });

  it('GPT-2 (byte-level BPE, 1000 tokens): round-trips text', async () => {
    const t = await Tokenizer.fromDirectory(sharedModel('ortgenai-tiny-random-gpt2-fp32'));
    const s = 'The quick brown fox, 123!';
    const ids = t.encode(s);
    expect(Math.max(...ids)).toBeLessThan(1000);
    expect(t.decode(ids)).toBe(s);
    expect(t.eosId).toBe(t.tokenToId('<|endoftext|>'));
  });
});
