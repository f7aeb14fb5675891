/**
 * Browser-only helpers: saving adapter files to the Origin Private File System and
 * offering them as a download. Node's tests run only `saveToOpfs` / `loadFromOpfs`
 * against a stand-in directory; `downloadBytes` needs a document and is not tested here.
 */

/** The subset of FileSystemDirectoryHandle used here (so a stand-in can be passed). */
export interface OpfsDirectory {
  getFileHandle(name: string, opts?: { create?: boolean }): Promise<{
    getFile(): Promise<Blob>;
    createWritable(): Promise<{ write(data: BufferSource | Blob): Promise<void>; close(): Promise<void> }>;
  }>;
}

async function opfsRoot(dir?: OpfsDirectory): Promise<OpfsDirectory> {
  if (dir) return dir;
  const storage = (globalThis as { navigator?: { storage?: { getDirectory?: () => Promise<OpfsDirectory> } } }).navigator?.storage;
  if (!storage?.getDirectory) throw new Error('OPFS: navigator.storage.getDirectory is not available here');
  return storage.getDirectory();
}

/**
 * Writes `bytes` to the file `name` in OPFS (the root, or `dir`). A writable stream's
 * content replaces the file only on close(), so a failed save leaves the old file whole.
 */
export async function saveToOpfs(name: string, bytes: Uint8Array, dir?: OpfsDirectory): Promise<void> {
  const handle = await (await opfsRoot(dir)).getFileHandle(name, { create: true });
  const w = await handle.createWritable();
  await w.write(bytes as Uint8Array<ArrayBuffer>);
  await w.close();
}

/** The bytes of the OPFS file `name`; pass them to decodeAdapterBundle or readSafetensors. */
export async function loadFromOpfs(name: string, dir?: OpfsDirectory): Promise<Uint8Array> {
  const handle = await (await opfsRoot(dir)).getFileHandle(name);
  return new Uint8Array(await (await handle.getFile()).arrayBuffer());
}

/** Offers `bytes` as a file download (browser pages only; untested in Node). */
export function downloadBytes(bytes: Uint8Array, fileName: string, type = 'application/octet-stream'): void {
  const doc = (globalThis as { document?: Document }).document;
  if (!doc) throw new Error('downloadBytes: no document (browser pages only)');
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
  const a = doc.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
