/**
 * `Tokenizer`: a Hugging Face `tokenizer.json` (run by `@huggingface/tokenizers`, pure JS,
 * Node and browsers) plus what `tokenizer_config.json` adds: the special tokens by role
 * (bos / eos / pad / unk) and the chat template (rendered by `@huggingface/jinja`).
 *
 * Ids are plain numbers; `src/data/collate.ts` turns them into int64 tensors.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { pickChatTemplate, renderChatTemplate, type ChatMessage, type RenderOptions } from './chatTemplate.js';

export type { ChatMessage } from './chatTemplate.js';

export interface TokenizeOptions {
  /** Add the post-processor's special tokens (Llama's `<s>`, BERT's `[CLS] … [SEP]`). Default true, as HF. */
  addSpecialTokens?: boolean;
}

export interface DetokenizeOptions {
  skipSpecialTokens?: boolean;
}

export interface SpecialToken {
  token: string;
  id: number;
}

export type SpecialRole = 'bos' | 'eos' | 'pad' | 'unk';

export interface TokenizerSources {
  /** tokenizer.json, as text or parsed. */
  tokenizer: string | object;
  /** tokenizer_config.json, as text or parsed (optional: no roles, no chat template without it). */
  config?: string | object | null;
  /** A chat template that wins over the config's (e.g. the contents of chat_template.jinja). */
  chatTemplate?: string;
  /** When the config holds several named templates, the one to use (default: 'default'). */
  chatTemplateName?: string;
}

/** What `addSpecialTokens` did: the embedding must have `newVocabSize` rows for the new ids. */
export interface AddedTokensReport {
  /** Tokens that got new ids (≥ the old vocabulary size). */
  added: SpecialToken[];
  /** Tokens already in the vocabulary; now marked special, ids unchanged. */
  existing: SpecialToken[];
  vocabSize: number;
  newVocabSize: number;
  /**
   * True when the new ids do not fit the embedding: `newVocabSize` > `embeddingRows` (or
   * > the old vocabulary size when `embeddingRows` was not given). Nothing here changes a
   * model; resizing the embedding (and the LM head) is the caller's job.
   */
  embeddingMustGrow: boolean;
}

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

interface TokenizerJson {
  model: { vocab?: unknown };
  added_tokens?: AddedTokenJson[];
  [k: string]: unknown;
}

const ROLES: SpecialRole[] = ['bos', 'eos', 'pad', 'unk'];

export class Tokenizer {
  private hf: HfTokenizer;
  private json: TokenizerJson;
  private readonly config: Record<string, unknown>;
  private readonly roles = new Map<SpecialRole, SpecialToken>();
  /** The chat template in use, or undefined when neither the config nor the caller gave one. */
  readonly chatTemplate: string | undefined;

  constructor(sources: TokenizerSources) {
    this.json = parseJson(sources.tokenizer, 'tokenizer.json') as TokenizerJson;
    if (!this.json.model || typeof this.json.model !== 'object') throw new Error('tokenizer.json: no "model" object; is this a Hugging Face tokenizer.json?');
    this.json.added_tokens ??= [];
    this.config = sources.config == null ? {} : (parseJson(sources.config, 'tokenizer_config.json') as Record<string, unknown>);
    this.hf = this.build();
    this.chatTemplate = sources.chatTemplate ?? pickChatTemplate(this.config.chat_template, sources.chatTemplateName);
    for (const role of ROLES) {
      const token = tokenContent(this.config[`${role}_token`]);
      if (token === undefined) continue;
      const id = this.tokenToId(token);
      if (id === undefined) throw new Error(`tokenizer_config.json: ${role}_token '${token}' is not in the vocabulary`);
      this.roles.set(role, { token, id });
    }
  }

  /** Reads `dir/tokenizer.json`, and `tokenizer_config.json` / `chat_template.jinja` when present (Node). */
  static async fromDirectory(dir: string): Promise<Tokenizer> {
    const fs = (await import(/* @vite-ignore */ FS)) as typeof import('node:fs/promises');
    const read = (name: string) => fs.readFile(`${dir.replace(/\/$/, '')}/${name}`, 'utf8');
    const optional = (name: string) => read(name).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    const [tokenizer, config, chatTemplate] = await Promise.all([read('tokenizer.json'), optional('tokenizer_config.json'), optional('chat_template.jinja')]);
    return new Tokenizer({ tokenizer, config, chatTemplate });
  }

  encode(text: string, opts: TokenizeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], opts: DetokenizeOptions = {}): string {
    if (ids.length === 0) return ''; // the JS tokenizer throws on an empty list
    return this.hf.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** Rows an embedding needs for every id this tokenizer emits: the largest id + 1. */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.hf.get_vocab(true).values()) max = Math.max(max, id);
    return max + 1;
  }

  /** The special token for a role (from tokenizer_config.json), if any. */
  special(role: SpecialRole): SpecialToken | undefined {
    return this.roles.get(role);
  }

  get bosId(): number | undefined {
    return this.roles.get('bos')?.id;
  }
  get eosId(): number | undefined {
    return this.roles.get('eos')?.id;
  }
  get padId(): number | undefined {
    return this.roles.get('pad')?.id;
  }
  get unkId(): number | undefined {
    return this.roles.get('unk')?.id;
  }

  /** Every token marked special in tokenizer.json's added_tokens. */
  get specialTokens(): SpecialToken[] {
    return this.json.added_tokens!.filter((t) => t.special).map((t) => ({ token: t.content, id: t.id }));
  }

  /**
   * Renders messages through the chat template, with the variables transformers passes:
   * `messages`, `add_generation_prompt`, the special tokens by name (`bos_token` …), and
   * any `variables` (tools, documents, template-specific flags).
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: RenderOptions = {}): string {
    if (this.chatTemplate === undefined) {
      throw new Error('applyChatTemplate: the tokenizer has no chat_template (tokenizer_config.json or chat_template.jinja); pass one as chatTemplate');
    }
    const specials: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.config)) {
      const content = k.endsWith('_token') ? tokenContent(v) : undefined;
      if (content !== undefined) specials[k] = content;
    }
    return renderChatTemplate(this.chatTemplate, messages, specials, opts);
  }

  /**
   * Adds tokens as special (never split, skipped by `skipSpecialTokens`), as HF's
   * `add_special_tokens({'additional_special_tokens': [...]})`: new ones get the next ids;
   * ones already in the vocabulary keep theirs. This tokenizer changes; models do not —
   * the report says whether the embedding must grow (compare with its rows).
   */
  addSpecialTokens(tokens: readonly string[], opts: { embeddingRows?: number } = {}): AddedTokensReport {
    const vocabSize = this.vocabSize;
    const added: SpecialToken[] = [];
    const existing: SpecialToken[] = [];
    let next = vocabSize;
    const list = this.json.added_tokens!;
    for (const token of new Set(tokens)) {
      if (token.length === 0) throw new Error('addSpecialTokens: a token cannot be empty');
      const id = this.tokenToId(token);
      if (id !== undefined) {
        existing.push({ token, id });
        const entry = list.find((t) => t.id === id);
        if (entry) entry.special = true;
        else list.push(addedToken(token, id));
        continue;
      }
      added.push({ token, id: next });
      list.push(addedToken(token, next++));
    }
    this.hf = this.build();
    const newVocabSize = Math.max(next, vocabSize);
    const rows = opts.embeddingRows ?? vocabSize;
    return { added, existing, vocabSize, newVocabSize, embeddingMustGrow: newVocabSize > rows };
  }

  /** tokenizer.json as it is now (with added tokens), for saving beside an adapter. */
  toJSON(): object {
    return structuredClone(this.json);
  }

  private build(): HfTokenizer {
    // The JS tokenizer writes into the model config it is given; give it a copy.
    return new HfTokenizer(structuredClone(this.json), structuredClone(this.config));
  }
}

const FS = 'node:fs/promises';

function addedToken(content: string, id: number): AddedTokenJson {
  return { id, content, special: true, single_word: false, lstrip: false, rstrip: false, normalized: false };
}

function parseJson(src: string | object, what: string): object {
  if (typeof src !== 'string') return structuredClone(src);
  try {
    return JSON.parse(src) as object;
  } catch (e) {
    throw new Error(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

/** A special-token entry is a string, or an AddedToken dict ({content, ...}) in older configs. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}
