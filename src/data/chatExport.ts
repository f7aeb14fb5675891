/**
 * WhatsApp chat exports ("Export chat → Without media") → training data.
 *
 * A message starts a line with a timestamp; lines that do not are continuations of the
 * message above (joined with "\n"). Accepted starts, after an optional U+200E mark:
 *
 *   Android   DATE, TIME - Sender: message          "12/03/2023, 21:15 - Ana: hi"
 *   iOS       [DATE, TIME] Sender: message          "[12/03/2023, 21:15:02] Ana: hi"
 *
 *   DATE  d/m/y with 1–2 digit day and month and a 2- or 4-digit year, separated by '/' or
 *         '.' (the comma after it is optional). Day and month order is not interpreted, so
 *         US m/d/y exports read the same.
 *   TIME  H:MM or H:MM:SS, 24-hour, or 12-hour with am/pm in either case, optionally dotted
 *         (p.m.), after a space, U+00A0 or U+202F or nothing ("9:15 PM", "9:15\u202fpm").
 *   The Android separator is '-' or '–' with spaces around it.
 *
 * Removed, each counted by reason (a removed message counts all its lines):
 *   encryption  the end-to-end encryption notice
 *   media       <Media omitted>; iOS "image omitted" (video, audio, sticker, GIF, document,
 *               Contact card) and "<attached: …>"
 *   deleted     "This message was deleted", "You deleted this message"
 *   null        a message that is just `null` (view-once media)
 *   system lines (timestamp, no "Sender: "; on iOS, a message starting with U+200E):
 *               created-group, added, changed-subject (subject, group name, icon,
 *               description, settings), left, removed-member, joined-via-link, system-other
 *   email, url  single lines holding an e-mail address, or http(s):// or www. links (only
 *               that line goes; the rest of a multi-line message stays)
 *   empty       messages with nothing left after cleaning
 *   before-first-message  lines before the first timestamp
 * Stripped from the text (counted): @mentions (`@⁨Name⁩` with U+2068/U+2069, and `@word`,
 * `@+44 7700…`), and "<This message was edited>". Consecutive messages of one sender are
 * then merged into one turn.
 */
import type { ChatMessage } from './chatTemplate.js';

export const REMOVAL_REASONS = [
  'encryption', 'media', 'deleted', 'null', 'created-group', 'added', 'changed-subject', 'left',
  'removed-member', 'joined-via-link', 'system-other', 'email', 'url', 'empty', 'before-first-message',
] as const;
export type RemovalReason = (typeof REMOVAL_REASONS)[number];

export interface ExportMessage {
  /** The raw date and time strings (not interpreted). */
  date: string;
  time: string;
  sender: string;
  text: string;
  /** 1-based line of the export where it starts (the first of merged messages). */
  line: number;
}

export interface ChatExportReport {
  /** Lines in the export. */
  lines: number;
  /** Messages and system lines found (timestamps). */
  entries: number;
  /** Lines removed, by reason, and their sum. */
  removed: Record<RemovalReason, number>;
  removedLines: number;
  mentionsStripped: number;
  editedMarkersStripped: number;
  /** Messages merged into the previous one because the sender was the same. */
  merged: number;
  /** Turns (merged messages) per sender. */
  senders: Record<string, number>;
}

const DATE = String.raw`\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})`;
const TIME = String.raw`\d{1,2}:\d{2}(?::\d{2})?(?:[ \u00a0\u202f]?[ap]\.?m\.?)?`;
const ANDROID = new RegExp(String.raw`^(${DATE}),? (${TIME}) [-–] (.*)$`, 'is');
const IOS = new RegExp(String.raw`^\[(${DATE}),? (${TIME})\] (.*)$`, 'is');
const SENDER = /^([^:]+?): ?(.*)$/s;

/** As a message's text (iOS puts the notice under the chat's name), only the notice's own wording. */
const NOTICE = /^(Messages and calls are end-to-end encrypted|Messages to this (group|chat) are now secured with end-to-end encryption)/i;
const MEDIA = /^(<Media omitted>|(image|video|audio|sticker|GIF|document|Contact card) omitted|<attached: [^>]*>)$/i;
const DELETED = /^(This message was deleted|You deleted this message)\.?$/i;
/** System lines: the name part before the keyword holds no ':' (a message's "Sender:" does). */
const SYSTEM: [RemovalReason, RegExp][] = [
  ['encryption', /^[^:]*\bend-to-end encrypt/i],
  ['created-group', /^[^:]*\bcreated (the )?group\b/i],
  ['changed-subject', /^[^:]*\b(changed (the subject|the group name|this group's icon|the group description|the group's settings|this group's settings)|deleted this group's icon)\b/i],
  ['joined-via-link', /^[^:]*\bjoined (using|via|from) (this group's |an )?(invite )?link\b/i],
  ['added', /^[^:]*\badded\b/i],
  ['removed-member', /^[^:]*\bremoved\b/i],
  ['left', /^[^:]*\bleft$/i],
];
const EMAIL = /[\w.+-]+@[\w-]+(\.[\w-]+)+/;
const URL_RE = /\b(https?:\/\/|www\.)\S+/i;
const MENTION = /@\u2068[^\u2069]*\u2069|@\+?\d[\d ]{5,}\d|@[\p{L}\p{N}_][\p{L}\p{N}_.]*/gu;
const EDITED = /\s*<This message was edited>/g;

interface Entry {
  date: string;
  time: string;
  body: string;
  lines: string[];
  line: number;
}

/** Reads and cleans an export: kept messages (same-sender runs merged) and the report. */
export function parseChatExport(text: string): { messages: ExportMessage[]; report: ChatExportReport } {
  const raw = text.replace(/^\ufeff/, '').split(/\r?\n/);
  if (raw.at(-1) === '') raw.pop();
  const removed = Object.fromEntries(REMOVAL_REASONS.map((r) => [r, 0])) as Record<RemovalReason, number>;
  const report: ChatExportReport = { lines: raw.length, entries: 0, removed, removedLines: 0, mentionsStripped: 0, editedMarkersStripped: 0, merged: 0, senders: {} };
  const remove = (reason: RemovalReason, n: number) => {
    removed[reason] += n;
    report.removedLines += n;
  };

  const entries: Entry[] = [];
  raw.forEach((l, i) => {
    const line = l.replace(/^\u200e/, '');
    const m = ANDROID.exec(line) ?? IOS.exec(line);
    if (m) entries.push({ date: m[1], time: m[2], body: m[3], lines: [], line: i + 1 });
    else if (entries.length > 0) entries.at(-1)!.lines.push(l);
    else remove('before-first-message', 1);
  });
  report.entries = entries.length;

  const kept: ExportMessage[] = [];
  for (const e of entries) {
    const total = 1 + e.lines.length;
    const system = SYSTEM.find(([, re]) => re.test(e.body));
    const sm = SENDER.exec(e.body);
    if (system || !sm) {
      remove(system?.[0] ?? 'system-other', total);
      continue;
    }
    const sender = sm[1].trim();
    const first = sm[2];
    const whole = [first, ...e.lines].join('\n').trim();
    const reason = messageReason(whole);
    if (reason) {
      remove(reason, total);
      continue;
    }
    const lines: string[] = [];
    for (const l of [first, ...e.lines]) {
      if (EMAIL.test(l)) remove('email', 1);
      else if (URL_RE.test(l)) remove('url', 1);
      else lines.push(clean(l, report));
    }
    const body = lines.join('\n').trim();
    if (body === '') {
      remove('empty', lines.length);
      continue;
    }
    const prev = kept.at(-1);
    if (prev && prev.sender === sender) {
      prev.text += '\n' + body;
      report.merged++;
    } else kept.push({ date: e.date, time: e.time, sender, text: body, line: e.line });
  }
  for (const m of kept) report.senders[m.sender] = (report.senders[m.sender] ?? 0) + 1;
  return { messages: kept, report };
}

/** Why a whole message goes, if it does. iOS marks system messages sent "by" the chat with U+200E. */
function messageReason(whole: string): RemovalReason | undefined {
  const bare = whole.replace(/^\u200e/, '');
  if (NOTICE.test(bare)) return 'encryption';
  if (MEDIA.test(bare)) return 'media';
  if (DELETED.test(bare)) return 'deleted';
  if (bare === 'null') return 'null';
  if (whole.startsWith('\u200e')) return SYSTEM.find(([, re]) => re.test(bare))?.[0];
  return undefined;
}

function clean(line: string, report: ChatExportReport): string {
  let out = line.replace(/^\u200e/, '');
  out = out.replace(EDITED, () => {
    report.editedMarkersStripped++;
    return '';
  });
  out = out.replace(MENTION, () => {
    report.mentionsStripped++;
    return '';
  });
  return out.replace(/ {2,}/g, ' ').trim();
}

export interface PersonaOptions {
  /** The sender whose messages become the assistant's; everyone else is the user. */
  persona: string;
  /** Most messages per example (default 10, at least 2). */
  maxTurns?: number;
  /** A system message to put first in every example. */
  system?: string;
  /**
   * Prefix user turns with "Sender: " (default: when more than one other person speaks, as in
   * group chats, where several people's consecutive messages become one user turn).
   */
  prefixSenders?: boolean;
}

export interface PersonaResult {
  examples: { messages: ChatMessage[] }[];
  /** One `{"messages": [...]}` object per line, for buildDataset. */
  jsonl: string;
  report: ChatExportReport & { turns: number; examples: number; droppedLeadingAssistant: number; droppedTrailingUser: number };
}

/**
 * Chat examples for one persona: the conversation is cut into consecutive, non-overlapping
 * windows of at most maxTurns messages, each starting with a user turn and ending with an
 * assistant turn (a persona message that opens the chat, and user messages after the last
 * persona message, have no partner: dropped and counted). Windows do not look at time
 * gaps; a window may span days.
 */
export function chatExportToPersona(text: string, opts: PersonaOptions): PersonaResult {
  const maxTurns = opts.maxTurns ?? 10;
  if (!Number.isInteger(maxTurns) || maxTurns < 2) throw new Error(`maxTurns must be an integer ≥ 2, got ${maxTurns}`);
  const { messages, report } = parseChatExport(text);
  if (!(opts.persona in report.senders)) {
    throw new Error(`persona '${opts.persona}' sent no kept message; senders: ${Object.keys(report.senders).join(', ') || 'none'}`);
  }
  const others = new Set(messages.filter((m) => m.sender !== opts.persona).map((m) => m.sender));
  const prefix = opts.prefixSenders ?? others.size > 1;
  const turns: ChatMessage[] = [];
  for (const m of messages) {
    const role = m.sender === opts.persona ? 'assistant' : 'user';
    const content = role === 'user' && prefix ? `${m.sender}: ${m.text}` : m.text;
    const prev = turns.at(-1);
    if (prev && prev.role === role) prev.content += '\n' + content; // several other people in a row
    else turns.push({ role, content });
  }
  let droppedLeadingAssistant = 0;
  let droppedTrailingUser = 0;
  const examples: { messages: ChatMessage[] }[] = [];
  let i = 0;
  if (turns[0]?.role === 'assistant') {
    droppedLeadingAssistant = 1;
    i = 1;
  }
  while (i < turns.length) {
    let end = Math.min(i + maxTurns, turns.length);
    while (end > i && turns[end - 1].role !== 'assistant') end--;
    if (end === i) {
      droppedTrailingUser = turns.length - i;
      break;
    }
    const head = opts.system === undefined ? [] : [{ role: 'system', content: opts.system }];
    examples.push({ messages: [...head, ...turns.slice(i, end)] });
    i = end;
  }
  const jsonl = examples.map((e) => JSON.stringify(e)).join('\n') + (examples.length ? '\n' : '');
  return { examples, jsonl, report: { ...report, turns: turns.length, examples: examples.length, droppedLeadingAssistant, droppedTrailingUser } };
}

/**
 * The whole chat as `<|startoftext|>Sender<|separator|>Message<|endoftext|>` records, one
 * per (merged) message, joined by "\n" — a plain-text format for training a model on every
 * speaker.
 */
export function chatExportToText(text: string): { text: string; report: ChatExportReport } {
  const { messages, report } = parseChatExport(text);
  const out = messages.map((m) => `<|startoftext|>${m.sender}<|separator|>${m.text}<|endoftext|>`).join('\n');
  return { text: out, report };
}
