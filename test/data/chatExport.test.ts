/**
 * WhatsApp export import: every accepted line format, every cleaning rule with its count,
 * multi-line messages, same-sender merging, persona examples and the text format.
 */
import { describe, expect, it } from 'vitest';
import { chatExportToPersona, chatExportToText, parseChatExport, REMOVAL_REASONS } from '../../src/data/chatExport.js';
import { buildDataset } from '../../src/data/dataset.js';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { tinyTokenizerConfig, tinyTokenizerJson } from './tinyTokenizer.js';

const LRM = '\u200e';
const ANDROID = [
  'Chat with Ana and Bob', // before-first-message
  '12/03/2023, 21:15 - Messages and calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or listen to them. Tap to learn more.',
  '12/03/2023, 21:15 - Ana created group "Trip: 2023"',
  '12/03/2023, 21:16 - Ana added you',
  '12/03/2023, 21:16 - Ana changed the subject from "Trip" to "Trip: 2024"',
  "12/03/2023, 21:17 - Bob joined using this group's invite link",
  '12/03/2023, 21:18 - Ana: hi everyone',
  '12/03/2023, 21:18 - Ana: @\u2068Bob Smith\u2069 are you coming?',
  '12/03/2023, 21:19 - Bob: <Media omitted>',
  '12/03/2023, 21:19 - Bob: This message was deleted',
  '12/03/2023, 21:20 - Me: You deleted this message',
  '12/03/2023, 21:20 - Bob: null',
  '12/03/2023, 21:21 - Bob: yes, I left work early <This message was edited>',
  '12/03/2023, 21:21 - Bob: mail me at bob@example.com',
  '12/03/2023, 21:22 - Bob: see https://example.com/x',
  '12/03/2023, 21:22 - Me: first line',
  'second line',
  'www.example.org is where',
  'third line @Ana',
  '12/03/2023, 21:23 - Carl left',
  '12/03/2023, 21:23 - Ana removed Carl',
  "12/03/2023, 21:24 - Ana changed this group's icon",
  '12/03/2023, 21:24 - Your security code with Bob changed. Tap to learn more.',
  '12/03/2023, 21:25 - Bob: @Me ok',
  '',
].join('\n');

describe('parseChatExport', () => {
  it('keeps real messages: multi-line joined, same sender merged, mentions and edit markers stripped', () => {
    const { messages } = parseChatExport(ANDROID);
    expect(messages.map((m) => [m.sender, m.text, m.line])).toEqual([
      ['Ana', 'hi everyone\nare you coming?', 7],
      ['Bob', 'yes, I left work early', 13],
      ['Me', 'first line\nsecond line\nthird line', 16],
      ['Bob', 'ok', 24],
    ]);
    expect(messages[0]).toMatchObject({ date: '12/03/2023', time: '21:18' });
  });

  it('counts every removed line by reason', () => {
    const { report } = parseChatExport(ANDROID);
    expect(report.removed).toEqual({
      encryption: 1,
      media: 1,
      deleted: 2,
      null: 1,
      'created-group': 1,
      added: 1,
      'changed-subject': 2,
      left: 1,
      'removed-member': 1,
      'joined-via-link': 1,
      'system-other': 1,
      email: 1,
      url: 2,
      empty: 0,
      'before-first-message': 1,
    });
    expect(Object.keys(report.removed)).toEqual([...REMOVAL_REASONS]);
    expect(report.removedLines).toBe(17);
    expect(report).toMatchObject({ lines: 24, entries: 20, mentionsStripped: 3, editedMarkersStripped: 1, merged: 1, senders: { Ana: 1, Bob: 2, Me: 1 } });
    // every line is kept or removed: 24 = 17 removed + 7 kept (Ana 2, Bob 1, Me 3, Bob 1)
    expect(report.removedLines + 7).toBe(report.lines);
  });

  it('accepts the iOS bracket form, seconds, 12-hour times (am/pm, dotted, U+202F/U+00A0), 2-digit years, dots, a leading U+200E', () => {
    const lines = [
      '[12/03/2023, 21:15:02] Ana: one',
      `${LRM}[12/03/2023, 9:15:02 PM] Bob: two`,
      '3/12/23, 9:15 pm - Ana: three',
      '3/12/23, 9:15\u202fPM - Bob: four',
      '3/12/23, 9:15\u00a0a.m. - Ana: five',
      '12.03.23, 21:15 - Bob: six',
      '12/03/2023 21:15 – Ana: seven',
      '2023-03-12 21:15 - Ana: not a timestamp, so a continuation',
    ];
    const { messages } = parseChatExport(lines.join('\r\n'));
    expect(messages.map((m) => m.text)).toEqual(['one', 'two', 'three', 'four', 'five', 'six', 'seven\n2023-03-12 21:15 - Ana: not a timestamp, so a continuation']);
    expect(messages.map((m) => m.time)).toEqual(['21:15:02', '9:15:02 PM', '9:15 pm', '9:15\u202fPM', '9:15\u00a0a.m.', '21:15', '21:15']);
  });

  it('iOS: media placeholders, attachments, and system messages sent under the chat name with U+200E', () => {
    const ios = [
      `[12/03/2023, 21:15:02] Trip: ${LRM}Messages and calls are end-to-end encrypted. No one outside of this chat can read them.`,
      `[12/03/2023, 21:15:03] Trip: ${LRM}Ana added Bob`,
      `[12/03/2023, 21:15:04] Ana: ${LRM}image omitted`,
      `[12/03/2023, 21:15:05] Ana: ${LRM}<attached: 00000012-PHOTO-2023-03-12.jpg>`,
      `[12/03/2023, 21:15:06] Bob: ${LRM}sticker omitted`,
      '[12/03/2023, 21:15:07] Bob: is this end-to-end encrypted?', // a question, not the notice
    ].join('\n');
    const { messages, report } = parseChatExport(ios);
    expect(messages.map((m) => m.text)).toEqual(['is this end-to-end encrypted?']);
    expect(report.removed).toMatchObject({ encryption: 1, added: 1, media: 3 });
  });

  it('messages that mention a system keyword after the sender are not system lines', () => {
    const text = ['12/03/2023, 21:15 - Ana: I left', '12/03/2023, 21:16 - Bob: she added you to the list', '12/03/2023, 21:17 - Ana: Bob created group chats'].join('\n');
    expect(parseChatExport(text).messages.map((m) => m.text)).toEqual(['I left', 'she added you to the list', 'Bob created group chats']);
  });

  it("a message left empty by cleaning is removed as 'empty'", () => {
    const { messages, report } = parseChatExport('12/03/2023, 21:15 - Ana: @\u2068Bob\u2069\n12/03/2023, 21:16 - Bob: hi');
    expect(messages.map((m) => m.sender)).toEqual(['Bob']);
    expect(report.removed.empty).toBe(1);
  });
});

const TWO = [
  '01/01/2024, 10:00 - Me: morning', // the persona opens: no prompt before it
  '01/01/2024, 10:01 - Ana: hi',
  '01/01/2024, 10:01 - Ana: how are you?',
  '01/01/2024, 10:02 - Me: good',
  '01/01/2024, 10:03 - Ana: lunch?',
  '01/01/2024, 10:04 - Me: yes',
  '01/01/2024, 10:05 - Ana: 1pm',
  '01/01/2024, 10:06 - Me: ok',
  '01/01/2024, 10:07 - Ana: bye', // nothing answers it
].join('\n');

describe('chatExportToPersona', () => {
  it("the persona is the assistant; windows of ≤ maxTurns start with 'user' and end with 'assistant'", () => {
    const r = chatExportToPersona(TWO, { persona: 'Me', maxTurns: 4 });
    expect(r.examples).toEqual([
      { messages: [{ role: 'user', content: 'hi\nhow are you?' }, { role: 'assistant', content: 'good' }, { role: 'user', content: 'lunch?' }, { role: 'assistant', content: 'yes' }] },
      { messages: [{ role: 'user', content: '1pm' }, { role: 'assistant', content: 'ok' }] },
    ]);
    expect(r.report).toMatchObject({ turns: 8, examples: 2, droppedLeadingAssistant: 1, droppedTrailingUser: 1, merged: 1 });
    expect(r.jsonl.trim().split('\n').map((l) => JSON.parse(l))).toEqual(r.examples);
  });

  it('maxTurns 3 still ends each window on the assistant; a system message goes first', () => {
    const r = chatExportToPersona(TWO, { persona: 'Me', maxTurns: 3, system: 'You are Me.' });
    expect(r.examples.map((e) => e.messages.map((m) => m.role).join(','))).toEqual(['system,user,assistant', 'system,user,assistant', 'system,user,assistant']);
    expect(() => chatExportToPersona(TWO, { persona: 'Me', maxTurns: 1 })).toThrow(/maxTurns must be an integer ≥ 2/);
  });

  it('group chats: other senders become one user turn, each line prefixed with its sender', () => {
    const group = ['01/01/2024, 10:00 - Ana: hi', '01/01/2024, 10:01 - Bob: hey', '01/01/2024, 10:02 - Me: hello both'].join('\n');
    const r = chatExportToPersona(group, { persona: 'Me' });
    expect(r.examples[0].messages).toEqual([{ role: 'user', content: 'Ana: hi\nBob: hey' }, { role: 'assistant', content: 'hello both' }]);
    expect(chatExportToPersona(group, { persona: 'Me', prefixSenders: false }).examples[0].messages[0].content).toBe('hi\nhey');
  });

  it('an unknown persona lists the senders', () => {
    expect(() => chatExportToPersona(TWO, { persona: 'Zoe' })).toThrow("persona 'Zoe' sent no kept message; senders: Me, Ana");
  });

  it('the JSONL goes straight into buildDataset as chats, training only the persona', () => {
    const tok = new Tokenizer({ tokenizer: tinyTokenizerJson(), config: tinyTokenizerConfig() });
    const { jsonl } = chatExportToPersona(TWO, { persona: 'Me', maxTurns: 4 });
    const ds = buildDataset({ name: 'chat.jsonl', text: jsonl }, tok);
    expect(ds.summary.format).toBe('messages');
    const trained = (ds.examples[0].labels as number[]).filter((l) => l !== -100);
    expect(tok.decode(trained)).toBe('good<|im_end|>\nyes<|im_end|>\n');
  });
});

describe('chatExportToText', () => {
  it('one <|startoftext|>Sender<|separator|>Message<|endoftext|> record per kept message', () => {
    const { text, report } = chatExportToText(ANDROID);
    expect(text.split('\n<|startoftext|>')).toHaveLength(4);
    expect(text.startsWith('<|startoftext|>Ana<|separator|>hi everyone\nare you coming?<|endoftext|>\n<|startoftext|>Bob<|separator|>yes')).toBe(true);
    expect(text.endsWith('<|startoftext|>Bob<|separator|>ok<|endoftext|>')).toBe(true);
    expect(report.removedLines).toBe(17);
  });
});
