/**
 * A single-file adapter: one safetensors file whose `__metadata__` also holds the adapter
 * config, for places where one file is easier than a folder (a download, OPFS, a URL).
 *
 *   __metadata__ = { "format": "pt",                          // as PEFT's weights file
 *                    "webpeft_bundle": "peft-adapter/1",      // marker and version
 *                    "peft_config": "<adapter_config.json as a JSON string>",
 *                    ...caller's own string entries }
 *
 * The tensors are those of adapter_model.safetensors, under PEFT's saved names, so the
 * file also loads as plain adapter weights (safetensors.torch.load_file) and a folder is
 * one `readAdapterBundle` + `writePeftFolder` away.
 */
import type { Tensor } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.js';
import { removeAdapterName, type PeftAdapterFiles } from './peftFolder.js';
import { readBytes, sourceLabel, writeFilesAtomic, type FileSource } from './source.js';

export const BUNDLE_MARKER_KEY = 'webpeft_bundle';
export const BUNDLE_FORMAT = 'peft-adapter/1';
export const BUNDLE_CONFIG_KEY = 'peft_config';
const RESERVED = new Set([BUNDLE_MARKER_KEY, BUNDLE_CONFIG_KEY, 'format']);

export interface BundleOptions {
  /** Extra `__metadata__` entries (strings); the bundle's own keys are reserved. */
  metadata?: Record<string, string>;
}

/** The bundle's bytes. */
export async function encodeAdapterBundle(
  adapter: { config: object; tensors: Record<string, Tensor | RawTensor> },
  opts: BundleOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const { config } = adapter;
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('adapter bundle: the config must be a JSON object');
  for (const k of Object.keys(opts.metadata ?? {})) {
    if (RESERVED.has(k)) throw new Error(`adapter bundle: metadata key ${JSON.stringify(k)} is reserved`);
  }
  const metadata = { ...opts.metadata, format: 'pt', [BUNDLE_MARKER_KEY]: BUNDLE_FORMAT, [BUNDLE_CONFIG_KEY]: JSON.stringify(config) };
  return encodeSafetensors(adapter.tensors, { metadata, name: 'adapter bundle' });
}

/** Node: writes the bundle to `path` atomically (a temporary name, then a rename). Returns the bytes. */
export async function writeAdapterBundle(
  path: string,
  adapter: { config: object; tensors: Record<string, Tensor | RawTensor> },
  opts: BundleOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await encodeAdapterBundle(adapter, opts);
  await writeFilesAtomic([[path, bytes]]);
  return bytes;
}

/** The decoded bundle; `metadata` holds the caller's own entries only. */
export function decodeAdapterBundle(bytes: Uint8Array, opts: { name?: string; toFloat32?: boolean } = {}): PeftAdapterFiles {
  const name = opts.name ?? 'adapter bundle';
  const { tensors, metadata } = decodeSafetensors(bytes, { name, toFloat32: opts.toFloat32 });
  const marker = metadata[BUNDLE_MARKER_KEY];
  if (marker === undefined) {
    throw new Error(`${name}: not a webpeft adapter bundle (no "${BUNDLE_MARKER_KEY}" in __metadata__); a PEFT adapter_model.safetensors is read with readPeftFolder`);
  }
  if (marker !== BUNDLE_FORMAT) throw new Error(`${name}: bundle format ${JSON.stringify(marker)} is not supported (this webpeft reads ${BUNDLE_FORMAT})`);
  const text = metadata[BUNDLE_CONFIG_KEY];
  if (text === undefined) throw new Error(`${name}: the bundle has no "${BUNDLE_CONFIG_KEY}" entry`);
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name}: "${BUNDLE_CONFIG_KEY}" is not valid JSON (${(err as Error).message})`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${name}: "${BUNDLE_CONFIG_KEY}" must hold a JSON object`);
  const own = Object.fromEntries(Object.entries(metadata).filter(([k]) => !RESERVED.has(k)));
  const { tensors: named, adapterName } = removeAdapterName(tensors, name);
  return { config: config as Record<string, unknown>, tensors: named, metadata: own, ...(adapterName ? { adapterName } : {}) };
}

/** Reads a bundle from a path (Node), URL, bytes or Blob/File. */
export async function readAdapterBundle(src: FileSource, opts: { toFloat32?: boolean; fetch?: typeof fetch } = {}): Promise<PeftAdapterFiles> {
  const name = sourceLabel(src, 'adapter bundle');
  return decodeAdapterBundle(await readBytes(src, name, opts.fetch), { name, toFloat32: opts.toFloat32 });
}
