/** Incremental detokenization (multi-byte characters split over tokens) and stop-string hold-back. */
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/data/tokenizer.js';
import { IncrementalDecoder, StopStrings } from '../../src/generate/text.js';
import { tinyTokenizerJson } from '../data/tinyTokenizer.js';
import { tiny97Tokenizer } from './helpers.js';

const byteLevel = () => new Tokenizer({ tokenizer: tinyTokenizerJson() });

describe('IncrementalDecoder', () => {
  it('releases a multi-byte character only once all its byte tokens are in', () => {
    const tk = byteLevel();
    const text = 'héllo wörld 日本';
    const ids = tk.encode(text, { addSpecialTokens: false });
    expect(ids.length).toBeGreaterThan(Array.from(text).length - 4); // bytes, not characters: é, ö, 日, 本 split
    const dec = new IncrementalDecoder(tk);
    const pieces = ids.map((id) => dec.push(id));
    pieces.push(dec.flush());
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    // 'h', then the first byte of 'é' alone releases nothing
    expect(pieces.slice(0, 3)).toEqual(['h', '', 'é']);
    // 日 is three bytes: two empty pieces, then the character
    const ri = pieces.indexOf('日');
    expect(pieces.slice(ri - 2, ri + 1)).toEqual(['', '', '日']);
  });

  it('decodes the first token as a continuation of the prompt (context)', () => {
    const tk = tiny97Tokenizer();
    const prompt = tk.encode('what is two');
    const dec = new IncrementalDecoder(tk, prompt);
    expect(dec.push(tk.tokenToId('plus')!)).toBe(' plus');
    expect(dec.push(tk.tokenToId('three')!)).toBe(' three');
    // without context the first word has no leading space
    expect(new IncrementalDecoder(tk).push(tk.tokenToId('plus')!)).toBe('plus');
  });

  it('flush gives a trailing partial character as U+FFFD; special tokens are skipped', () => {
    const tk = byteLevel();
    const [first] = tk.encode('é', { addSpecialTokens: false });
    const dec = new IncrementalDecoder(tk);
    expect(dec.push(first)).toBe('');
    expect(dec.flush()).toBe('\uFFFD');
    expect(dec.flush()).toBe('');
    const dec2 = new IncrementalDecoder(tk);
    expect(dec2.push(tk.tokenToId('<|im_end|>')!) + dec2.flush()).toBe('');
  });
});

describe('StopStrings', () => {
  it('holds back a tail that may start a stop string and cuts at the stop string', () => {
    const s = new StopStrings(['lo w', 'XYZ']);
    expect(s.push('hel')).toBe('he'); // 'l' may start 'lo w'
    expect(s.push('lo ')).toBe('l'); // 'hello ': the second 'l' starts 'lo ', held
    expect(s.stopped).toBe(false);
    expect(s.push('world')).toBe(''); // 'lo w' found: the text ends before it, at 'hel'
    expect(s.stopped).toBe(true);
    expect(s.push('more')).toBe('');
    expect(s.flush()).toBe('');
  });

  it('releases held text when it turns out not to be a stop string, and at the end', () => {
    const s = new StopStrings(['abc']);
    expect(s.push('xa')).toBe('x');
    expect(s.push('bd')).toBe('abd');
    expect(s.push('ab')).toBe('');
    expect(s.flush()).toBe('ab');
    expect(s.stopped).toBe(false);
  });

  it('finds the earliest of several stop strings, even inside one piece', () => {
    const s = new StopStrings(['cd', 'b']);
    expect(s.push('abcd')).toBe('a');
    const none = new StopStrings([]);
    expect(none.push('anything') + none.flush()).toBe('anything');
    expect(() => new StopStrings([''])).toThrow(/empty/);
  });
});
