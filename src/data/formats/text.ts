/**
 * Plain text for a causal LM, as transformers' run_clm `group_texts`: every document (a
 * .txt file, or a JSONL `{text}` row) is encoded with the tokenizer's special tokens plus
 * EOS, the documents are concatenated in order, and the stream is cut into chunks of
 * `contextLength` tokens, every token trained. Unlike run_clm the last, shorter chunk is
 * kept (padded at batching) unless `dropRemainder`; the summary says how long it is.
 * A chunk may hold the end of one document and the start of the next (no attention mask
 * between them; the EOS between them marks the boundary).
 */
import type { Tokenizer } from '../tokenizer.js';

export interface TextDocument {
  ids: number[];
  origin: string;
}

export interface TextChunk {
  input_ids: number[];
  labels: number[];
  origin: string;
}

export function textDocument(tok: Tokenizer, text: string, appendEos: boolean, origin: string): TextDocument {
  const ids = tok.encode(text);
  if (appendEos) {
    const eos = tok.eosId;
    if (eos === undefined) throw new Error("appendEos: the tokenizer has no eos_token (tokenizer_config.json); set appendEos: false or give the config");
    if (ids.at(-1) !== eos) ids.push(eos);
  }
  return { ids, origin };
}

export function chunkDocuments(docs: readonly TextDocument[], contextLength: number, dropRemainder: boolean): { chunks: TextChunk[]; remainder: number } {
  const chunks: TextChunk[] = [];
  let cur: number[] = [];
  let origin = '';
  for (const doc of docs) {
    let at = 0;
    while (at < doc.ids.length) {
      if (cur.length === 0) origin = doc.origin;
      const take = Math.min(contextLength - cur.length, doc.ids.length - at);
      cur.push(...doc.ids.slice(at, at + take));
      at += take;
      if (cur.length === contextLength) {
        chunks.push({ input_ids: cur, labels: [...cur], origin });
        cur = [];
      }
    }
  }
  const remainder = cur.length;
  if (remainder > 0 && !dropRemainder) chunks.push({ input_ids: cur, labels: [...cur], origin });
  return { chunks, remainder };
}
