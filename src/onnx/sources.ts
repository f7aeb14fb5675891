/**
 * Byte sources for model files and their external data: a path (Node), a URL, bytes, or
 * a Blob/File. Node modules are imported dynamically behind a runtime check, with the
 * specifier in a variable, so browser bundles never see them.
 */

export type ByteSource = string | URL | ArrayBuffer | ArrayBufferView | Blob;

/** Reads byte ranges of one file; `close` releases a file handle when there is one. */
export interface RangeReader {
  /** Where the bytes come from, for messages. */
  readonly label: string;
  size(): Promise<number>;
  /** Exactly `length` bytes at `offset`, in a buffer the caller may keep. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** A string source: a URL when it has a scheme (or outside Node), else a file path. */
export function isUrlString(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s); // not a Windows drive letter
}

type FsPromises = typeof import('node:fs/promises');
type PathModule = typeof import('node:path');

const FS = 'node:fs/promises';
const PATH = 'node:path';
const URL_MOD = 'node:url';

export async function nodeFs(): Promise<FsPromises> {
  return (await import(/* @vite-ignore */ FS)) as FsPromises;
}

export async function nodePath(): Promise<PathModule> {
  return (await import(/* @vite-ignore */ PATH)) as PathModule;
}

/** file: URLs become paths in Node, where fetch cannot read them. */
export async function fileUrlToPath(u: URL): Promise<string> {
  const mod = (await import(/* @vite-ignore */ URL_MOD)) as typeof import('node:url');
  return mod.fileURLToPath(u);
}

export function bytesOf(src: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (src instanceof Uint8Array) return src;
  if (ArrayBuffer.isView(src)) return new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  return new Uint8Array(src);
}

/** A file read through a handle, range by range: a large .data file is never held whole. */
export async function fileReader(path: string): Promise<RangeReader> {
  const fs = await nodeFs();
  const handle = await fs.open(path, 'r');
  return {
    label: path,
    size: async () => (await handle.stat()).size,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < length) throw new RangeError(`${path}: ends at byte ${offset + done}, needed ${offset + length}`);
      return out;
    },
    close: () => handle.close(),
  };
}

/** Bytes already in memory: ranges are views, so nothing is copied here. */
export function memoryReader(bytes: Uint8Array, label: string): RangeReader {
  return {
    label,
    size: async () => bytes.byteLength,
    async read(offset, length) {
      if (offset + length > bytes.byteLength) throw new RangeError(`${label}: is ${bytes.byteLength} bytes, needed ${offset + length}`);
      return bytes.subarray(offset, offset + length);
    },
    close: async () => {},
  };
}

/** A Blob/File: each range is sliced and read on its own (browsers may keep large blobs on disk). */
export function blobReader(blob: Blob, label: string): RangeReader {
  return {
    label,
    size: async () => blob.size,
    async read(offset, length) {
      if (offset + length > blob.size) throw new RangeError(`${label}: is ${blob.size} bytes, needed ${offset + length}`);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    close: async () => {},
  };
}

/** A URL, fetched once: tensors then view into that one buffer. */
export async function urlReader(url: URL, fetchFn: typeof fetch): Promise<RangeReader> {
  const res = await fetchFn(url);
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  return memoryReader(new Uint8Array(await res.arrayBuffer()), url.href);
}

/** Any ByteSource → a reader. Strings are paths in Node, URLs elsewhere. */
export async function openSource(src: ByteSource, label: string, fetchFn: typeof fetch): Promise<RangeReader> {
  if (typeof Blob !== 'undefined' && src instanceof Blob) return blobReader(src, label);
  if (src instanceof ArrayBuffer || ArrayBuffer.isView(src)) return memoryReader(bytesOf(src), label);
  const url = asUrl(src as string | URL);
  if (!url) return fileReader(src as string);
  if (url.protocol === 'file:' && isNode) return fileReader(await fileUrlToPath(url));
  return urlReader(url, fetchFn);
}

/** A URL for URL sources, undefined for file paths. Relative strings outside Node resolve against the page. */
export function asUrl(src: string | URL): URL | undefined {
  if (src instanceof URL) return src;
  if (isUrlString(src)) return new URL(src);
  if (isNode) return undefined;
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return new URL(src, base);
}

/** The whole content of a source (the .onnx file itself is always read whole: protobuf needs it). */
export async function readAll(src: ByteSource, label: string, fetchFn: typeof fetch): Promise<Uint8Array> {
  if (typeof src === 'string' && !asUrl(src)) return bytesOf(await (await nodeFs()).readFile(src));
  const r = await openSource(src, label, fetchFn);
  try {
    return await r.read(0, await r.size());
  } finally {
    await r.close();
  }
}
