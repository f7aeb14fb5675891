/**
 * Chat templates: the Jinja source from tokenizer_config.json (or chat_template.jinja),
 * rendered by `@huggingface/jinja` with the variables transformers' `apply_chat_template`
 * passes. Parsed templates are cached by source.
 */
import { Template } from '@huggingface/jinja';

export interface ChatMessage {
  role: string;
  content: string;
  [k: string]: unknown;
}

export interface RenderOptions {
  /** Append the header that starts an assistant turn (`<|im_start|>assistant\n`). Default false. */
  addGenerationPrompt?: boolean;
  /** More template variables: `tools`, `documents`, template-specific flags. */
  variables?: Record<string, unknown>;
}

const cache = new Map<string, Template>();

/** tokenizer_config.json's `chat_template`: a string, or a list of {name, template}. */
export function pickChatTemplate(value: unknown, name = 'default'): string | undefined {
  if (value == null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const hit = named.find((t) => t.name === name);
    if (hit && typeof hit.template === 'string') return hit.template;
    const names = named.map((t) => String(t.name)).join(', ');
    throw new Error(`tokenizer_config.json: no chat template named '${name}' (it has: ${names})`);
  }
  throw new Error(`tokenizer_config.json: chat_template must be a string or a list of {name, template}, got ${typeof value}`);
}

/** Parses (once) a template; a syntax error names the template as the culprit. */
export function compileChatTemplate(source: string): Template {
  let t = cache.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new Error(`the chat template does not parse: ${(e as Error).message}`);
    }
    cache.set(source, t);
  }
  return t;
}

export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  specialTokens: Record<string, string>,
  opts: RenderOptions = {},
): string {
  return compileChatTemplate(source).render({
    ...specialTokens,
    ...opts.variables,
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
  });
}
