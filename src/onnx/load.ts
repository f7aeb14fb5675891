/**
 * Reads an ONNX model and its external data into a decoded ModelProto whose tensors all
 * carry raw_data. External data (`location`, `offset`, `length` in a tensor's
 * external_data) is resolved relative to the model file or URL and read tensor by tensor:
 * in Node through a file handle at offsets, for Blobs by slicing, so the .data file is
 * never held whole next to the tensors made from it.
 */
import { DATA_LOCATION_EXTERNAL, decodeModelProto, OnnxDecodeError, withFile, type GraphProto, type ModelProto, type TensorProto } from './proto.js';
import { rawByteLength } from './initializers.js';
import { asUrl, fileUrlToPath, isNode, nodePath, openSource, readAll, type ByteSource, type RangeReader } from './sources.js';

export type { ByteSource } from './sources.js';

export interface LoadOptions {
  /** Name for messages; default: the path or URL as given, a File's name, else 'model.onnx'. */
  name?: string;
  /** External data files by their `location`: needed when the model is given as bytes or a Blob. */
  externalData?: Record<string, ByteSource>;
  /** Folder path or URL that `location`s are relative to; default: the model's own folder. */
  base?: string | URL;
  /** For URL sources; default: globalThis.fetch. */
  fetch?: typeof fetch;
}

export interface LoadedModelProto {
  model: ModelProto;
  /** The name used in messages. */
  name: string;
  /** The external data files that were read, as resolved. */
  externalFiles: string[];
}

export async function loadModelProto(source: ByteSource, opts: LoadOptions = {}): Promise<LoadedModelProto> {
  const name = opts.name ?? sourceName(source);
  const fetchFn = opts.fetch ?? globalThis.fetch;
  let bytes: Uint8Array;
  try {
    bytes = await readAll(source, name, fetchFn);
  } catch (err) {
    throw new Error(`${name}: cannot read the model file: ${(err as Error).message}`, { cause: err });
  }
  const model = decodeModelProto(bytes, name);
  const externalFiles = await withFile(name, () => loadExternalData(model.graph!, { name, source, opts, fetchFn }));
  return { model, name, externalFiles };
}

function sourceName(source: ByteSource): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  const file = source as { name?: unknown };
  if (typeof Blob !== 'undefined' && source instanceof Blob && typeof file.name === 'string' && file.name) return file.name;
  return 'model.onnx';
}

interface Ctx {
  name: string;
  source: ByteSource;
  opts: LoadOptions;
  fetchFn: typeof fetch;
}

interface ExternalRef {
  tp: TensorProto;
  offset: number;
  length: number | undefined;
}

/** Reads every external tensor's bytes into its raw_data; returns the files read. */
async function loadExternalData(graph: GraphProto, ctx: Ctx): Promise<string[]> {
  const byFile = new Map<string, ExternalRef[]>();
  for (const tp of allTensors(graph)) {
    if (tp.dataLocation !== DATA_LOCATION_EXTERNAL) continue;
    const { location, ref } = parseRef(tp, ctx.name);
    const list = byFile.get(location) ?? [];
    list.push(ref);
    byFile.set(location, list);
  }
  const files: string[] = [];
  for (const [location, refs] of byFile) {
    const reader = await openExternal(location, refs, ctx);
    files.push(reader.label);
    try {
      for (const ref of refs) await readInto(reader, ref, ctx.name);
    } finally {
      await reader.close();
    }
  }
  return files;
}

/** Initializers and tensors in node attributes (onnx's external-data writer moves both). */
function* allTensors(graph: GraphProto): Generator<TensorProto> {
  yield* graph.initializer;
  for (const node of graph.node) {
    for (const a of node.attribute) {
      if (a.t) yield a.t;
      yield* a.tensors;
    }
  }
}

function parseRef(tp: TensorProto, name: string): { location: string; ref: ExternalRef } {
  const kv = new Map(tp.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location');
  if (!location) throw new OnnxDecodeError(name, `tensor '${tp.name}' is marked external but has no 'location'`);
  const int = (key: string) => {
    const s = kv.get(key);
    if (s === undefined) return undefined;
    const v = Number(s);
    if (!Number.isSafeInteger(v) || v < 0) throw new OnnxDecodeError(name, `tensor '${tp.name}': external data ${key} '${s}' is not a byte count`);
    return v;
  };
  return { location, ref: { tp, offset: int('offset') ?? 0, length: int('length') } };
}

async function openExternal(location: string, refs: ExternalRef[], ctx: Ctx): Promise<RangeReader> {
  const first = refs[0].tp.name;
  const whose = refs.length > 1 ? `tensor '${first}' and ${refs.length - 1} more` : `tensor '${first}'`;
  const { src, label } = await resolveExternal(location, whose, ctx);
  try {
    return await openSource(src, label, ctx.fetchFn);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'file not found' : e.message;
    throw new Error(`${ctx.name}: cannot read external data file '${label}' (for ${whose}): ${why}`, { cause: err });
  }
}

/** Where `location` lives: opts.externalData, else beside the model (or under opts.base). */
async function resolveExternal(location: string, whose: string, ctx: Ctx): Promise<{ src: ByteSource; label: string }> {
  const given = ctx.opts.externalData?.[location];
  if (given !== undefined) return { src: given, label: location };
  checkLocation(location, whose, ctx.name);
  const base = ctx.opts.base ?? (typeof ctx.source === 'string' || ctx.source instanceof URL ? ctx.source : undefined);
  if (base === undefined) {
    throw new Error(
      `${ctx.name}: ${whose} keep their data in external file '${location}', but the model was given as bytes; ` +
        `pass it as opts.externalData['${location}'] (or opts.base, the folder it is in)`,
    );
  }
  const isFolder = ctx.opts.base !== undefined;
  const url = asUrl(base);
  if (url) {
    const resolved = new URL(location, isFolder && !url.href.endsWith('/') ? `${url.href}/` : url);
    if (resolved.protocol === 'file:' && isNode) return local(await fileUrlToPath(resolved));
    return { src: resolved, label: resolved.href };
  }
  const path = await nodePath();
  return local(path.join(isFolder ? (base as string) : path.dirname(base as string), location));
}

const local = (p: string) => ({ src: p, label: p });

/** ONNX requires relative locations inside the model's folder; a downloaded model must not read elsewhere. */
function checkLocation(location: string, whose: string, name: string): void {
  const parts = location.split(/[\\/]/);
  if (/^([\\/]|[a-z]:)/i.test(location) || parts.includes('..')) {
    throw new OnnxDecodeError(name, `${whose}: external data location '${location}' must be a relative path inside the model's folder`);
  }
}

async function readInto(reader: RangeReader, ref: ExternalRef, name: string): Promise<void> {
  const { tp, offset } = ref;
  const length = ref.length ?? rawByteLength(tp) ?? (await reader.size()) - offset;
  try {
    tp.rawData = await reader.read(offset, length);
  } catch (err) {
    throw new Error(`${name}: tensor '${tp.name}': cannot read bytes [${offset}, ${offset + length}) of '${reader.label}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  tp.dataLocation = 0;
  tp.externalData = [];
}
