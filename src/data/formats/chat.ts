/**
 * Chat rows for a causal LM: `{messages: [{role, content}, ...]}`, and `{user, assistant}`
 * pairs (optionally with `system`) which become a two- or three-message chat. The chat
 * template renders the conversation; with the default, only assistant turns are trained.
 *
 * An assistant turn's span runs from the end of the rendering of the messages before it
 * with the generation prompt (`…<|im_start|>assistant\n`) to the end of the rendering that
 * includes it (so its end-of-turn tokens are trained: the model learns to stop). Both
 * renderings must be prefixes of the whole conversation's; templates that rewrite earlier
 * turns (dropping old reasoning, say) fail with a row error unless trainOnPrompt is set.
 * The rendered text is encoded without adding special tokens, since the template writes
 * them (HF's apply_chat_template(tokenize=True) does the same).
 */
import { describe, RowProblem } from '../rows.js';
import type { ChatMessage, Tokenizer } from '../tokenizer.js';
import { optionalString, stringField } from './fields.js';
import { encodeSpans, type LabeledIds } from './spans.js';

export function messagesExample(tok: Tokenizer, row: Record<string, unknown>, trainOnPrompt: boolean): LabeledIds {
  if (!('messages' in row)) throw new RowProblem("missing field 'messages' (chat rows need messages: [{role, content}, ...])");
  return chatExample(tok, parseMessages(row.messages), trainOnPrompt);
}

export function pairExample(tok: Tokenizer, row: Record<string, unknown>, trainOnPrompt: boolean): LabeledIds {
  const what = "pair rows need 'user' and 'assistant' strings";
  const system = optionalString(row, 'system');
  const messages: ChatMessage[] = [
    ...(system === undefined ? [] : [{ role: 'system', content: system }]),
    { role: 'user', content: stringField(row, 'user', what) },
    { role: 'assistant', content: stringField(row, 'assistant', what) },
  ];
  return chatExample(tok, messages, trainOnPrompt);
}

export function chatExample(tok: Tokenizer, messages: ChatMessage[], trainOnPrompt: boolean): LabeledIds {
  const render = (m: ChatMessage[], addGenerationPrompt: boolean) => {
    try {
      return tok.applyChatTemplate(m, { addGenerationPrompt });
    } catch (e) {
      throw new RowProblem(`chat template: ${(e as Error).message}`);
    }
  };
  const full = render(messages, false);
  if (trainOnPrompt) return encodeSpans(tok, full, [], [true], false);
  const cuts: number[] = [];
  const trained: boolean[] = [false];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const start = render(messages.slice(0, i), true);
    const end = render(messages.slice(0, i + 1), false);
    if (!full.startsWith(start) || !full.startsWith(end) || end.length < start.length || start.length < (cuts.at(-1) ?? 0)) {
      throw new RowProblem(
        `chat template: rendering messages[0..${i}] is not a prefix of the whole conversation, so assistant turn ${i} cannot be located; ` +
          'use a template that renders turn by turn, or trainOnPrompt: true',
      );
    }
    cuts.push(start.length, end.length);
    trained.push(true, false);
  });
  if (cuts.length === 0) throw new RowProblem("no 'assistant' message: nothing to train on (only assistant turns count unless trainOnPrompt)");
  return encodeSpans(tok, full, cuts, trained, false);
}

function parseMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v)) throw new RowProblem(`'messages' must be an array of {role, content}, got ${describe(v)}`);
  if (v.length === 0) throw new RowProblem("'messages' is empty");
  return v.map((m, i) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new RowProblem(`messages[${i}] must be an object {role, content}, got ${describe(m)}`);
    const msg = m as Record<string, unknown>;
    if (typeof msg.role !== 'string' || msg.role === '') throw new RowProblem(`messages[${i}].role must be a non-empty string, got ${describe(msg.role)}`);
    if (typeof msg.content !== 'string') throw new RowProblem(`messages[${i}].content must be a string, got ${describe(msg.content)}`);
    return msg as ChatMessage;
  });
}
