/**
 * ONNX writing for deployment, from the decoded file (`loadModelProto`: external data
 * already read into raw_data), so every node, attribute, opset and name stays as the
 * exporter wrote it:
 *
 *   exportMergedOnnx(proto, values)          the same graph with new initializer values
 *                                            (PEFT's merge_and_unload, saved as ONNX);
 *   exportLoraInputsOnnx(proto, injections)  each adapted matmul gets two graph inputs,
 *                                            `<module>.lora_A.weight` (r, in) and
 *                                            `.lora_B.weight` (out, r), and computes
 *                                            y = base(x) + s·((x·Aᵀ)·Bᵀ), so any runtime
 *                                            can feed (and swap) adapter tensors.
 *
 * Size: protobuf cannot encode a message past 2 GiB. With `externalData: 'auto'` (the
 * default) a model whose tensors pass EXTERNAL_AUTO_BYTES is written as onnx's external
 * data layout instead: tensors of `sizeThreshold` bytes or more move to one `.onnx.data`
 * file (`location`, offset, length per tensor; offsets 64-byte aligned, page-aligned for
 * tensors of 1 MiB or more), returned as parts to write in order (never one buffer).
 */
import { f32ToF16Bits, type Tensor } from '../tensor/tensor.js';
import { DATA_LOCATION_EXTERNAL, DataType, dataTypeName, encodeModelProto, int64ToNumber, type GraphProto, type ModelProto, type NodeProto, type TensorProto } from './proto.js';
import { nodeFs, nodePath } from './sources.js';
import { irNodeNames } from './toIr.js';

/** Tensors above this total go external under 'auto': protobuf's 2 GiB limit, less room for the graph. */
export const EXTERNAL_AUTO_BYTES = 2 ** 31 - 2 ** 26;

export interface ExportOptions {
  /** 'auto' (default): external only past EXTERNAL_AUTO_BYTES; 'always'; 'never' (throws past 2 GiB). */
  externalData?: 'auto' | 'always' | 'never';
  /** The external data file's name, beside the model (default 'model.onnx.data'). */
  location?: string;
  /** Smaller tensors stay inline when data goes external (default 1024 bytes, as onnx's save_model). */
  sizeThreshold?: number;
}

export interface OnnxExport {
  /** The ModelProto: the `.onnx` file. */
  model: Uint8Array;
  /** When tensors went external: write `parts` in order to `location`, in the model's folder. */
  externalData?: { location: string; parts: Uint8Array[]; byteLength: number };
}

/**
 * The model with new values for float initializers (merged weights, trained copies), by
 * name: host float32 tensors in the initializer's dims, written in the initializer's own
 * data type (float32, float16 and bfloat16 round to nearest even, double widens) so the
 * graph's types do not change. A Constant node's value counts as an initializer, as in the IR.
 */
export function exportMergedOnnx(model: ModelProto, values: ReadonlyMap<string, Tensor>, opts: ExportOptions = {}): OnnxExport {
  return finish(model, withValues(model.graph!, values), opts);
}

/** One adapted matmul for `exportLoraInputsOnnx`. */
export interface LoraInjection {
  /** The matmul's node name as the IR names it (LoraTarget.node). */
  node: string;
  /** Graph input names for A (r, in) and B (out, r): PEFT's tensor names. */
  aInput: string;
  bInput: string;
  inFeatures: number;
  outFeatures: number;
  /** Multiplies the LoRA branch (a Mul node); undefined: no Mul, the caller folds it into B. */
  scaling?: number;
}

export interface LoraExportOptions extends ExportOptions {
  /** New initializer values written as `exportMergedOnnx` writes them (modules_to_save copies, trained biases). */
  values?: ReadonlyMap<string, Tensor>;
  /** Element type of the adapter inputs, which must match the activations they multiply (default float32). */
  dtype?: 'float32' | 'float16';
}

const ELEM = { float32: DataType.FLOAT, float16: DataType.FLOAT16 } as const;

/**
 * The model with LoRA branches whose A and B are graph inputs (ONNX Runtime GenAI's
 * multi-LoRA layout). The rank of each module is a symbolic dim (`lora_r_<k>`), so
 * adapters of any rank can be fed; feeding zero-rank tensors runs the base model.
 */
export function exportLoraInputsOnnx(model: ModelProto, injections: readonly LoraInjection[], opts: LoraExportOptions = {}): OnnxExport {
  const dtype = opts.dtype ?? 'float32';
  const g = withValues(model.graph!, opts.values ?? new Map());
  const names = irNodeNames(g.node);
  const at = new Map(names.map((n, i) => [n, i]));
  const values = new Fresh([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => [...n.input, ...n.output])]);
  const nodeNames = new Fresh(names);
  const after = new Map<number, NodeProto[]>();
  const nodes = [...g.node];
  const inputs = [...g.input];
  const inits = [...g.initializer];
  injections.forEach((inj, k) => {
    const i = at.get(inj.node);
    if (i === undefined) throw new Error(`exportLoraInputsOnnx: no node '${inj.node}' in the model`);
    if (after.has(i)) throw new Error(`exportLoraInputsOnnx: node '${inj.node}' is listed twice`);
    const p = nodes[i];
    checkInjectable(p, inj.node);
    const [x] = p.input;
    const y = p.output[0];
    const scope = `${inj.node}/lora`;
    const v = (s: string) => values.take(`${scope}/${s}`);
    const n = (op: string, ins: string[], outs: string[]) => ({ opType: op, domain: '', input: ins, output: outs, name: nodeNames.take(`${scope}/${op}`), attribute: [] as NodeProto['attribute'] });
    const base = v('base');
    nodes[i] = { ...p, output: [base, ...p.output.slice(1)] };
    const r = `lora_r_${k}`;
    for (const [name, dims] of [[inj.aInput, [r, inj.inFeatures]], [inj.bInput, [inj.outFeatures, r]]] as const) {
      if (!values.take(name, true)) throw new Error(`exportLoraInputsOnnx: '${name}' is already a value of the model`);
      const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
      inputs.push({ name, type: { tensorType: { elemType: ELEM[dtype], shape: { dim } } }, docString: '' });
    }
    const [aT, bT, xa, xab] = [v('A_T'), v('B_T'), v('xA'), v('xAB')];
    const transpose = (src: string, dst: string) => ({ ...n('Transpose', [src], [dst]), attribute: [{ name: 'perm', type: 7, ints: [1, 0] }] as NodeProto['attribute'] });
    const added: NodeProto[] = [transpose(inj.aInput, aT), transpose(inj.bInput, bT), n('MatMul', [x, aT], [xa]), n('MatMul', [xa, bT], [xab])];
    let delta = xab;
    if (inj.scaling !== undefined) {
      const s = v('scaling');
      inits.push(scalarTensor(s, inj.scaling, dtype));
      delta = v('scaled');
      added.push(n('Mul', [xab, s], [delta]));
    }
    added.push(n('Add', [base, delta], [y]));
    after.set(i, added);
  });
  const node = nodes.flatMap((p, i) => [p, ...(after.get(i) ?? [])]); // each branch right after its matmul: still topological
  return finish(model, { ...g, node, input: inputs, initializer: inits }, opts);
}

/** The base op must compute x·W from input 0 untransposed, so the branch can read the same x. */
function checkInjectable(p: NodeProto, name: string): void {
  const attr = (k: string) => int64ToNumber(p.attribute.find((a) => a.name === k)?.i ?? 0);
  const op = `${p.domain || 'ai.onnx'}.${p.opType}`;
  const ok =
    (op === 'ai.onnx.MatMul') ||
    (op === 'ai.onnx.Gemm' && !attr('transA')) ||
    (op === 'com.microsoft.MatMulNBits') ||
    (op === 'com.microsoft.FusedMatMul' && !attr('transA') && !attr('transBatchA'));
  if (!ok) throw new Error(`exportLoraInputsOnnx: node '${name}' (${p.opType}) is not a matmul of its first input (transA is not supported)`);
}

/** Unique value or node names: `take(base)` returns base, or base_1, base_2 ... when taken. */
class Fresh {
  private readonly taken: Set<string>;
  constructor(names: Iterable<string>) {
    this.taken = new Set(names);
  }
  take(base: string): string;
  take(base: string, exact: true): string | undefined;
  take(base: string, exact = false): string | undefined {
    let name = base;
    for (let k = 1; this.taken.has(name); k++) {
      if (exact) return undefined;
      name = `${base}_${k}`;
    }
    this.taken.add(name);
    return name;
  }
}

function scalarTensor(name: string, v: number, dtype: 'float32' | 'float16'): TensorProto {
  const raw = dtype === 'float32' ? bytes(Float32Array.of(v)) : bytes(Uint16Array.of(f32ToF16Bits(v)));
  return { name, dims: [], dataType: ELEM[dtype], rawData: raw } as unknown as TensorProto;
}

/** A shallow copy of the graph whose named tensors (initializers or Constant values) carry new values. */
function withValues(graph: GraphProto, values: ReadonlyMap<string, Tensor>): GraphProto {
  const left = new Set(values.keys());
  const initializer = graph.initializer.map((tp) => {
    const t = values.get(tp.name);
    if (!t) return tp;
    left.delete(tp.name);
    return encodeTensor(tp, t, `initializer '${tp.name}'`);
  });
  const node = graph.node.map((p) => {
    const t = p.opType === 'Constant' && !p.domain ? values.get(p.output[0]) : undefined;
    if (!t) return p;
    const a = p.attribute.find((x) => x.name === 'value' && x.t);
    if (!a) throw new Error(`Constant '${p.output[0]}' holds no tensor 'value' to replace`);
    left.delete(p.output[0]);
    return { ...p, attribute: p.attribute.map((x) => (x === a ? { ...a, t: encodeTensor(a.t!, t, `Constant '${p.output[0]}'`) } : x)) };
  });
  if (left.size) throw new Error(`no initializer or Constant named ${[...left].map((n) => `'${n}'`).join(', ')} in the model`);
  return { ...graph, initializer, node };
}

/** `t` (host float32, or float16 for a float16 tensor) as a TensorProto like `tp`, in tp's data type. */
function encodeTensor(tp: TensorProto, t: Tensor, what: string): TensorProto {
  const dims = tp.dims.map(int64ToNumber);
  if (dims.join() !== t.dims.join()) throw new Error(`${what}: new value is [${t.dims.join(', ')}], the model's is [${dims.join(', ')}]`);
  let raw: Uint8Array;
  if (t.dtype === 'float16' && tp.dataType === DataType.FLOAT16) raw = bytes(t.hostData<Uint16Array>());
  else if (t.dtype !== 'float32') throw new Error(`${what}: new values must be float32, got ${t.dtype}`);
  else raw = floatBytes(t.hostData<Float32Array>(), tp.dataType, what);
  return { name: tp.name, dims: tp.dims, dataType: tp.dataType, docString: tp.docString ?? '', rawData: raw } as unknown as TensorProto;
}

function floatBytes(f: Float32Array, dataType: number, what: string): Uint8Array {
  switch (dataType) {
    case DataType.FLOAT:
      return bytes(f);
    case DataType.FLOAT16:
      return bytes(Uint16Array.from(f, f32ToF16Bits));
    case DataType.BFLOAT16:
      return bytes(toBf16(f));
    case DataType.DOUBLE:
      return bytes(Float64Array.from(f));
    default:
      throw new Error(`${what} is ${dataTypeName(dataType)}: float values cannot be written into it (quantized weights are not re-quantized)`);
  }
}

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
function toBf16(f: Float32Array): Uint16Array {
  const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
  return Uint16Array.from(u, (x) => ((x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16));
}

const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Encodes the model around `graph`, moving large tensors to external data when asked or needed. */
function finish(model: ModelProto, graph: GraphProto, opts: ExportOptions): OnnxExport {
  const mode = opts.externalData ?? 'auto';
  const total = graph.initializer.reduce((s, tp) => s + (tp.rawData?.byteLength ?? 0) + 8 * (tp.floatData?.length ?? 0) + 8 * (tp.int64Data?.length ?? 0), 0);
  if (mode === 'always' || (mode === 'auto' && total > EXTERNAL_AUTO_BYTES)) {
    const { initializer, externalData } = externalize(graph.initializer, opts.location ?? 'model.onnx.data', opts.sizeThreshold ?? 1024);
    return { model: encodeModelProto({ ...model, graph: { ...graph, initializer } }), externalData };
  }
  if (total > 2 ** 31) throw new Error(`export: ${total} bytes of tensors do not fit one protobuf message (2 GiB); use externalData 'auto' or 'always'`);
  return { model: encodeModelProto({ ...model, graph }) };
}

function externalize(tensors: readonly TensorProto[], location: string, threshold: number) {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const initializer = tensors.map((tp) => {
    const raw = tp.rawData;
    if (!raw || raw.byteLength < threshold) return tp;
    const align = raw.byteLength >= 2 ** 20 ? 4096 : 64;
    const pad = (align - (offset % align)) % align;
    if (pad) parts.push(new Uint8Array(pad));
    offset += pad;
    parts.push(raw);
    const entry = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    offset += raw.byteLength;
    return { name: tp.name, dims: tp.dims, dataType: tp.dataType, docString: tp.docString ?? '', externalData: entry, dataLocation: DATA_LOCATION_EXTERNAL } as unknown as TensorProto;
  });
  return { initializer, externalData: { location, parts, byteLength: offset } };
}

/** Node only: writes the model to `path` and its external data (if any) beside it; returns the files written. */
export async function writeOnnxExport(path: string, exported: OnnxExport): Promise<string[]> {
  const [fs, p] = await Promise.all([nodeFs(), nodePath()]);
  await fs.writeFile(path, exported.model);
  if (!exported.externalData) return [path];
  const dataPath = p.join(p.dirname(path), exported.externalData.location);
  const fh = await fs.open(dataPath, 'w');
  try {
    for (const part of exported.externalData.parts) await fh.write(part);
  } finally {
    await fh.close();
  }
  return [path, dataPath];
}
