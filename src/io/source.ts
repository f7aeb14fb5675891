/**
 * Whole-file reads from any source (a Node path, a URL, bytes, a Blob/File) and atomic
 * Node writes. src/io may import only src/tensor, so this is a small copy of the rules in
 * src/onnx/sources.ts (strings with a scheme are URLs, other strings are paths in Node and
 * page-relative URLs elsewhere; file: URLs are paths in Node), reading whole files: adapter
 * files are small. Node modules are imported dynamically, with the specifier in a variable,
 * so browser bundles never see them.
 */

export type FileSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

const FS = 'node:fs/promises';
const PATH = 'node:path';
const URL_MOD = 'node:url';

export const nodeFs = async () => (await import(/* @vite-ignore */ FS)) as typeof import('node:fs/promises');
export const nodePath = async () => (await import(/* @vite-ignore */ PATH)) as typeof import('node:path');

/** A file: URL as a Node path. */
export async function fileUrlToPath(u: URL): Promise<string> {
  return ((await import(/* @vite-ignore */ URL_MOD)) as typeof import('node:url')).fileURLToPath(u);
}

/** A URL for URL sources; undefined for a Node file path. */
export function asUrl(src: string | URL): URL | undefined {
  if (src instanceof URL) return src;
  if (/^[a-z][a-z0-9+.-]*:/i.test(src) && !/^[a-z]:[\\/]/i.test(src)) return new URL(src); // not a Windows drive
  if (isNode) return undefined;
  return new URL(src, (globalThis as { location?: { href: string } }).location?.href);
}

export function bytesOf(src: ArrayBuffer | ArrayBufferView): Uint8Array {
  // Also for a Node Buffer, whose slice() is a view, not a copy.
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  return new Uint8Array(src);
}

const isBlob = (v: unknown): v is Blob => typeof Blob !== 'undefined' && v instanceof Blob;

export function isFileSource(v: unknown): v is FileSource {
  return typeof v === 'string' || v instanceof URL || v instanceof ArrayBuffer || ArrayBuffer.isView(v) || isBlob(v);
}

/** A label for messages: the path or URL, else `fallback`. */
export function sourceLabel(src: FileSource, fallback: string): string {
  if (typeof src === 'string') return src;
  if (src instanceof URL) return src.href;
  if (isBlob(src) && typeof (src as File).name === 'string' && (src as File).name) return (src as File).name;
  return fallback;
}

/** The whole content of `src`. A missing file or a failed fetch throws with `label` in the message. */
export async function readBytes(src: FileSource, label: string, fetchFn: typeof fetch = globalThis.fetch): Promise<Uint8Array> {
  if (isBlob(src)) return new Uint8Array(await src.arrayBuffer());
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return bytesOf(src);
  const url = asUrl(src);
  if (!url || (url.protocol === 'file:' && isNode)) {
    const path = url ? await fileUrlToPath(url) : (src as string);
    try {
      return bytesOf(await (await nodeFs()).readFile(path));
    } catch (err) {
      throw new Error(`${label}: cannot read ${path}: ${(err as Error).message}`);
    }
  }
  if (!fetchFn) throw new Error(`${label}: no fetch to read ${url.href}`);
  const res = await fetchFn(url);
  if (!res.ok) throw new Error(`${label}: HTTP ${res.status} ${res.statusText}`.trim() + ` for ${url.href}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** A fresh name beside `path`: `<path>.tmp-<random hex>`. */
function tempName(path: string): string {
  const r = new Uint8Array(6);
  globalThis.crypto.getRandomValues(r);
  return `${path}.tmp-${Array.from(r, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Writes each file to `<path>.tmp-<random>` (flushed to disk), then renames them into
 * place in the given order, so no reader ever sees a half-written file. On an error the
 * temporary files not yet renamed are removed.
 */
export async function writeFilesAtomic(files: [path: string, bytes: Uint8Array][]): Promise<void> {
  const fs = await nodeFs();
  const temps: string[] = [];
  try {
    for (const [path, bytes] of files) {
      const tmp = tempName(path);
      temps.push(tmp);
      const h = await fs.open(tmp, 'wx');
      try {
        await h.writeFile(bytes);
        await h.sync();
      } finally {
        await h.close();
      }
    }
  } catch (err) {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    throw err;
  }
  let i = 0;
  try {
    for (; i < files.length; i++) await fs.rename(temps[i], files[i][0]);
  } catch (err) {
    await Promise.all(temps.slice(i).map((t) => fs.rm(t, { force: true })));
    throw err;
  }
}
