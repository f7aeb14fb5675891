/**
 * Text for streamed tokens. Two problems: a token can be part of a character (byte-level
 * BPE splits 'é' over two tokens), and some decoders change a token's text by position
 * (SentencePiece drops the leading space of the first token). `IncrementalDecoder` solves
 * both as text-generation-inference does: decode a short window that ends at the new
 * token, starting a few tokens back for context, and release only what the window adds,
 * once it no longer ends in U+FFFD (an incomplete UTF-8 sequence). `StopStrings` holds
 * back text that could be the start of a stop string.
 */

/** What generation needs from a tokenizer; `Tokenizer` from the data layer fits it. */
export interface GenerationTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosId?: number | undefined;
}

/** Tokens of context decoded before the new ones (enough for SentencePiece's leading space). */
const CONTEXT = 5;

export class IncrementalDecoder {
  private readonly ids: number[];
  private prefix: number;
  private read: number;

  /** `context`: the prompt's ids, so the first generated token is decoded as a continuation. */
  constructor(private readonly tokenizer: GenerationTokenizer, context: readonly number[] = []) {
    this.ids = context.slice(-CONTEXT);
    this.read = this.ids.length;
    this.prefix = 0;
  }

  /** Adds a token; returns the text it completes ('' while a character is still partial). */
  push(id: number): string {
    this.ids.push(id);
    return this.release(false);
  }

  /** Whatever is still held at the end of generation (a partial character shows as U+FFFD). */
  flush(): string {
    return this.read < this.ids.length ? this.release(true) : '';
  }

  private release(final: boolean): string {
    const opts = { skipSpecialTokens: true };
    const before = this.tokenizer.decode(this.ids.slice(this.prefix, this.read), opts);
    const now = this.tokenizer.decode(this.ids.slice(this.prefix), opts);
    if (!final && (now.length <= before.length || now.endsWith('\uFFFD'))) return '';
    const piece = now.slice(before.length);
    this.prefix = this.read;
    this.read = this.ids.length;
    // Keep the window short: drop ids before the new prefix (decode is then O(window)).
    this.ids.splice(0, this.prefix);
    this.read -= this.prefix;
    this.prefix = 0;
    return piece;
  }
}

/**
 * Scans generated text for stop strings. `push` takes the next piece and returns the text
 * safe to show: everything except a tail that could still become a stop string, or, when
 * one appeared, the text before it (and `stopped` turns true).
 */
export class StopStrings {
  private text = '';
  private shown = 0;
  stopped = false;
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    for (const s of stops) if (s.length === 0) throw new Error('stop strings cannot be empty');
    this.longest = Math.max(0, ...stops.map((s) => s.length));
  }

  push(piece: string): string {
    if (this.stopped) return '';
    this.text += piece;
    // A stop string can only end inside the new piece: start looking just before it.
    const from = Math.max(0, this.text.length - piece.length - this.longest + 1);
    let cut = -1;
    for (const s of this.stops) {
      const at = this.text.indexOf(s, from);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.stopped = true;
      return this.take(cut);
    }
    return this.take(this.text.length - this.heldTail());
  }

  /** The rest, at the end of generation (no stop string can complete any more). */
  flush(): string {
    return this.stopped ? '' : this.take(this.text.length);
  }

  /** Length of the longest tail of the text that is a proper prefix of a stop string. */
  private heldTail(): number {
    for (let n = Math.min(this.longest - 1, this.text.length - this.shown); n > 0; n--) {
      const tail = this.text.slice(this.text.length - n);
      if (this.stops.some((s) => s.startsWith(tail))) return n;
    }
    return 0;
  }

  private take(end: number): string {
    const out = end > this.shown ? this.text.slice(this.shown, end) : '';
    this.shown = Math.max(this.shown, end);
    return out;
  }
}
