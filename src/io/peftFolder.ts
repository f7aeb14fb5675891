/**
 * PEFT adapter folders, as `PeftModel.save_pretrained` writes them and `PeftModel.from_pretrained`
 * reads them:
 *
 *   adapter_config.json         the LoraConfig (json.dumps(indent=2, sort_keys=True))
 *   adapter_model.safetensors   the adapter's tensors, __metadata__ {"format": "pt"}
 *
 * Tensor names are PEFT's saved names, `base_model.model.<module path>.lora_A.weight`
 * (get_peft_model_state_dict drops the adapter name; set_peft_model_state_dict puts it
 * back on load). Files whose names still hold the adapter name (`...lora_A.default.weight`,
 * as a raw `model.state_dict()` has them) are read too: the name is removed, as PEFT
 * removes it on save, and reported in `adapterName`.
 *
 * The config is handed over as raw JSON: parse it with parseLoraConfig (src/peft), which
 * this layer does not import.
 */
import type { Tensor } from '../tensor/tensor.js';
import { decodeSafetensors, encodeSafetensors, setOwn, type RawTensor } from './safetensors.js';
import { asUrl, bytesOf, fileUrlToPath, isFileSource, isNode, nodeFs, nodePath, readBytes, sourceLabel, writeFilesAtomic, type FileSource } from './source.js';

export const CONFIG_NAME = 'adapter_config.json';
export const WEIGHTS_NAME = 'adapter_model.safetensors';
/** PEFT's pickle weights (safe_serialization=False): not readable here. */
const PICKLE_WEIGHTS_NAME = 'adapter_model.bin';

/** An adapter: its config as PEFT's JSON object and its tensors under PEFT's saved names. */
export interface PeftAdapterData {
  config: Record<string, unknown>;
  tensors: Record<string, Tensor>;
}

export interface PeftAdapterFiles extends PeftAdapterData {
  /** adapter_model.safetensors' `__metadata__`. */
  metadata: Record<string, string>;
  /** The adapter name found inside tensor names and removed (`default` in `lora_A.default.weight`); absent when names were PEFT's saved ones. */
  adapterName?: string;
}

/**
 * Where a folder is: a directory path (Node), a base URL (the files are fetched beside it),
 * a map of file name → bytes/Blob/File/path/URL (names may carry folders: `my-adapter/adapter_config.json`),
 * or a list of Files (an `<input type="file" webkitdirectory>` FileList).
 */
export type FolderSource = string | URL | Record<string, FileSource> | Map<string, FileSource> | ArrayLike<File>;

export interface ReadFolderOptions {
  /** F16 tensors become float32 (BF16 always does). */
  toFloat32?: boolean;
  /** The adapter name to remove from tensor names; by default any one name found there is. */
  adapterName?: string;
  fetch?: typeof fetch;
}

/** Reads adapter_config.json and adapter_model.safetensors. */
export async function readPeftFolder(src: FolderSource, opts: ReadFolderOptions = {}): Promise<PeftAdapterFiles> {
  const files = await locate(src);
  const configSrc = files.get(CONFIG_NAME);
  const weightsSrc = files.get(WEIGHTS_NAME);
  if (!weightsSrc && files.has(PICKLE_WEIGHTS_NAME)) {
    throw new Error(`${files.label}: has ${PICKLE_WEIGHTS_NAME} (a PyTorch pickle), which webpeft does not read; save with safe_serialization=True for ${WEIGHTS_NAME}`);
  }
  const missing = [[CONFIG_NAME, configSrc], [WEIGHTS_NAME, weightsSrc]].filter(([, s]) => !s).map(([n]) => n);
  if (missing.length) throw new Error(`${files.label}: no ${missing.join(' or ')}`);
  const configLabel = files.labelOf(CONFIG_NAME);
  const weightsLabel = files.labelOf(WEIGHTS_NAME);
  const [configBytes, weightBytes] = await Promise.all([
    readBytes(configSrc!, configLabel, opts.fetch),
    readBytes(weightsSrc!, weightsLabel, opts.fetch),
  ]);
  const config = parseConfigJson(configBytes, configLabel);
  const { tensors, metadata } = decodeSafetensors(weightBytes, { name: weightsLabel, toFloat32: opts.toFloat32 });
  const { tensors: named, adapterName } = removeAdapterName(tensors, weightsLabel, opts.adapterName);
  return { config, tensors: named, metadata, ...(adapterName ? { adapterName } : {}) };
}

/** adapter_config.json's bytes as a JSON object; the message names the file. */
export function parseConfigJson(bytes: Uint8Array, label = CONFIG_NAME): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new Error(`${label}: not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${label}: expected a JSON object of LoraConfig fields`);
  return json as Record<string, unknown>;
}

/**
 * PEFT's `get_peft_model_state_dict` naming: `.<adapter>` removed after `lora_A` / `lora_B` /
 * `lora_embedding_A` / `lora_embedding_B` / `lora_magnitude_vector`, and
 * `modules_to_save.<adapter>.` reduced to nothing. Names already in that form pass through.
 */
export function removeAdapterName(
  tensors: Record<string, Tensor>,
  label = WEIGHTS_NAME,
  expected?: string,
): { tensors: Record<string, Tensor>; adapterName?: string } {
  const found = new Set<string>();
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors)) {
    let m = /^(.*\.(?:lora_A|lora_B|lora_magnitude_vector))\.([^.]+)\.weight$/.exec(name);
    m ??= /^(.*\.(?:lora_embedding_A|lora_embedding_B))\.([^.]+)$/.exec(name);
    let saved = name;
    if (m && m[2] !== 'weight') {
      found.add(m[2]);
      saved = name.endsWith('.weight') ? `${m[1]}.weight` : m[1];
    } else {
      const s = /^(.*)\.modules_to_save\.([^.]+)\.(.*)$/.exec(name);
      if (s) {
        found.add(s[2]);
        saved = `${s[1]}.${s[3]}`;
      }
    }
    if (Object.hasOwn(out, saved)) throw new Error(`${label}: ${JSON.stringify(name)} and another tensor both name ${JSON.stringify(saved)} once the adapter name is removed`);
    setOwn(out, saved, t);
  }
  if (found.size > 1) throw new Error(`${label}: tensor names hold several adapter names (${[...found].join(', ')}); webpeft reads one adapter per file`);
  const adapterName = [...found][0];
  if (expected !== undefined && adapterName !== undefined && adapterName !== expected) {
    throw new Error(`${label}: tensor names hold adapter name ${JSON.stringify(adapterName)}, expected ${JSON.stringify(expected)}`);
  }
  return adapterName === undefined ? { tensors: out } : { tensors: out, adapterName };
}

/** The two files' bytes, as PEFT writes them. */
export type PeftFolderBytes = Record<typeof CONFIG_NAME | typeof WEIGHTS_NAME, Uint8Array<ArrayBuffer>>;

export interface WriteFolderOptions {
  /** adapter_model.safetensors' `__metadata__` (default PEFT's {"format": "pt"}). */
  metadata?: Record<string, string>;
}

/**
 * The folder's files: the config as PEFT dumps it (keys sorted at every level, 2-space
 * indent) and the tensors as safetensors (float16 stays F16). With `dir` (Node), also
 * writes them there: the folder is created, each file goes to a temporary name and is
 * then renamed, weights first, so neither file is ever seen half-written.
 */
export async function writePeftFolder(
  adapter: { config: object; tensors: Record<string, Tensor | RawTensor> },
  dir?: string,
  opts: WriteFolderOptions = {},
): Promise<PeftFolderBytes> {
  const files: PeftFolderBytes = {
    [WEIGHTS_NAME]: await encodeSafetensors(adapter.tensors, { metadata: opts.metadata ?? { format: 'pt' }, name: WEIGHTS_NAME }),
    [CONFIG_NAME]: configJsonBytes(adapter.config),
  };
  if (dir !== undefined) {
    const path = await nodePath();
    await (await nodeFs()).mkdir(dir, { recursive: true });
    await writeFilesAtomic([
      [path.join(dir, WEIGHTS_NAME), files[WEIGHTS_NAME]],
      [path.join(dir, CONFIG_NAME), files[CONFIG_NAME]],
    ]);
  }
  return files;
}

/** PEFT's `json.dumps(config, indent=2, sort_keys=True)` (non-ASCII kept as UTF-8). */
export function configJsonBytes(config: object): Uint8Array<ArrayBuffer> {
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new Error('adapter config: expected a JSON object');
  return new TextEncoder().encode(JSON.stringify(sortKeys(config), null, 2));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) setOwn(out, k, sortKeys((v as Record<string, unknown>)[k]));
  return out;
}

// ───────────────────────── where the files are ─────────────────────────

interface Located {
  label: string;
  get(name: string): FileSource | undefined;
  has(name: string): boolean;
  labelOf(name: string): string;
}

async function locate(src: FolderSource): Promise<Located> {
  if (typeof src === 'string' || src instanceof URL) {
    const url = asUrl(src);
    if (!url || (url.protocol === 'file:' && isNode)) {
      const [path, fs] = [await nodePath(), await nodeFs()];
      const dir = url ? await fileUrlToPath(url) : (src as string);
      if (!(await fs.stat(dir).catch(() => null))?.isDirectory()) throw new Error(`${dir}: not a folder`);
      const present = new Set<string>();
      for (const n of [CONFIG_NAME, WEIGHTS_NAME, PICKLE_WEIGHTS_NAME]) if (await fs.stat(path.join(dir, n)).catch(() => null)) present.add(n);
      return {
        label: dir,
        get: (n) => (present.has(n) ? path.join(dir, n) : undefined),
        has: (n) => present.has(n),
        labelOf: (n) => path.join(dir, n),
      };
    }
    const base = new URL(url.href);
    if (!base.pathname.endsWith('/')) base.pathname += '/'; // the files sit inside it, not beside it
    return { label: base.href, get: (n) => new URL(n, base), has: () => false, labelOf: (n) => new URL(n, base).href };
  }
  const entries: [string, FileSource][] =
    src instanceof Map
      ? [...src.entries()]
      : isArrayLike(src)
        ? Array.from(src, (f) => [(f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name, f as FileSource])
        : Object.entries(src);
  const byName = new Map<string, [string, FileSource]>();
  for (const [key, value] of entries) {
    if (!isFileSource(value)) throw new Error(`adapter files: ${JSON.stringify(key)} is not bytes, a Blob/File, a path or a URL`);
    const base = key.split(/[\\/]/).pop()!;
    const prev = byName.get(base);
    if (prev && [CONFIG_NAME, WEIGHTS_NAME].includes(base)) throw new Error(`adapter files: both ${JSON.stringify(prev[0])} and ${JSON.stringify(key)} are ${base}`);
    byName.set(base, [key, value instanceof ArrayBuffer || ArrayBuffer.isView(value) ? bytesOf(value) : value]);
  }
  const label = 'adapter files';
  return {
    label,
    get: (n) => byName.get(n)?.[1],
    has: (n) => byName.has(n),
    labelOf: (n) => {
      const e = byName.get(n);
      return e ? sourceLabel(e[1], e[0]) : n;
    },
  };
}

function isArrayLike(v: object): v is ArrayLike<File> {
  return Array.isArray(v) || (typeof (v as ArrayLike<unknown>).length === 'number' && typeof (v as { item?: unknown }).item === 'function');
}
