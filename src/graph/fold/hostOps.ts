/**
 * Host evaluation of the small integer/shape ops that exporters chain together
 * (Shape, Gather, Unsqueeze, Concat, Slice, Reshape, Cast, arithmetic, Where, Range,
 * ConstantOfShape, Expand ...). ONNX semantics, opset differences noted inline.
 * Inputs and outputs are `HostValue`s; an absent optional input is `undefined`.
 */
import { Tensor, type DType } from '../../tensor/tensor.js';
import { broadcastDims, broadcastStrides, normalizeAxis, stridesOf } from '../../tensor/shape.js';
import { castValue, fromHostTensor, isIntegerType, type HostValue } from './values.js';

export type AttrValue = number | string | number[] | string[] | unknown;
export type Attrs = Record<string, AttrValue>;
export type HostOp = (inputs: (HostValue | undefined)[], attrs: Attrs, opset: number) => HostValue[];

const int = (a: Attrs, k: string, d: number) => (typeof a[k] === 'number' ? (a[k] as number) : d);
const ints = (a: Attrs, k: string) => (Array.isArray(a[k]) ? (a[k] as number[]) : undefined);
const need = (v: HostValue | undefined, what: string): HostValue => {
  if (!v) throw new Error(`${what}: missing required input`);
  return v;
};
const size = (dims: number[]) => dims.reduce((x, y) => x * y, 1);

/** `dtype`: the output type, or null for the first input's, or a function of the inputs. */
function elementwise(dtype: DType | null | ((xs: HostValue[]) => DType), fn: (...xs: number[]) => number) {
  return (ins: (HostValue | undefined)[]): HostValue[] => {
    const xs = ins.map((v, i) => need(v, `input ${i}`));
    const dims = xs.map((x) => x.dims).reduce((a, b) => broadcastDims(a, b));
    const strides = xs.map((x) => broadcastStrides(x.dims, dims));
    const outStrides = stridesOf(dims);
    const n = size(dims);
    const outType = typeof dtype === 'function' ? dtype(xs) : (dtype ?? xs[0].dtype);
    const values = new Array<number>(n);
    const args = new Array<number>(xs.length);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < xs.length; k++) {
        let off = 0;
        let rem = i;
        for (let d = 0; d < dims.length; d++) {
          const c = Math.floor(rem / outStrides[d]);
          rem -= c * outStrides[d];
          off += c * strides[k][d];
        }
        args[k] = xs[k].values[off];
      }
      values[i] = castValue(fn(...args), outType);
    }
    return [{ dtype: outType, dims, values }];
  };
}

/** Integer division truncates toward zero in ONNX (as C), unlike Math.floor. */
const div = (a: number, b: number) => a / b;

const arith = (fn: (a: number, b: number) => number): HostOp => (ins) => {
  const a = need(ins[0], 'A');
  const f = isIntegerType(a.dtype) ? (x: number, y: number) => Math.trunc(fn(x, y)) : fn;
  return elementwise(null, f)(ins);
};

function shape(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Shape');
  const r = x.dims.length;
  let start = int(attrs, 'start', 0);
  let end = int(attrs, 'end', r);
  start = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
  end = Math.min(Math.max(end < 0 ? end + r : end, 0), r);
  const values = x.dims.slice(start, Math.max(start, end));
  return [{ dtype: 'int64', dims: [values.length], values }];
}

function gather(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const data = need(ins[0], 'Gather data');
  const idx = need(ins[1], 'Gather indices');
  const axis = normalizeAxis(int(attrs, 'axis', 0), data.dims.length, 'Gather axis');
  const outer = size(data.dims.slice(0, axis));
  const inner = size(data.dims.slice(axis + 1));
  const len = data.dims[axis];
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const raw of idx.values) {
      const j = raw < 0 ? raw + len : raw;
      if (j < 0 || j >= len) throw new Error(`Gather: index ${raw} is out of range for axis ${axis} of size ${len}`);
      const base = (o * len + j) * inner;
      for (let k = 0; k < inner; k++) values.push(data.values[base + k]);
    }
  }
  const dims = [...data.dims.slice(0, axis), ...idx.dims, ...data.dims.slice(axis + 1)];
  return [{ dtype: data.dtype, dims, values }];
}

function axesFrom(ins: (HostValue | undefined)[], attrs: Attrs, inputIndex: number): number[] | undefined {
  return ins[inputIndex]?.values ?? ints(attrs, 'axes');
}

function unsqueeze(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Unsqueeze');
  const axes = axesFrom(ins, attrs, 1);
  if (!axes) throw new Error('Unsqueeze: axes missing (input 1 from opset 13, attribute before)');
  const rank = x.dims.length + axes.length;
  const norm = axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze axis')).sort((p, q) => p - q);
  const dims = [...x.dims];
  for (const a of norm) dims.splice(a, 0, 1);
  return [{ ...x, dims }];
}

function squeeze(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Squeeze');
  const axes = axesFrom(ins, attrs, 1);
  const drop = axes ? axes.map((a) => normalizeAxis(a, x.dims.length, 'Squeeze axis')) : x.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  for (const a of drop) if (x.dims[a] !== 1) throw new Error(`Squeeze: axis ${a} has size ${x.dims[a]}, not 1`);
  return [{ ...x, dims: x.dims.filter((_, i) => !drop.includes(i)) }];
}

function concat(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const xs = ins.filter((v): v is HostValue => !!v);
  const rank = xs[0].dims.length;
  const axis = normalizeAxis(int(attrs, 'axis', 0), rank, 'Concat axis');
  const outer = size(xs[0].dims.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const chunk = size(x.dims.slice(axis));
      for (let k = 0; k < chunk; k++) values.push(x.values[o * chunk + k]);
    }
  }
  const dims = [...xs[0].dims];
  dims[axis] = xs.reduce((s, x) => s + x.dims[axis], 0);
  return [{ dtype: xs[0].dtype, dims, values }];
}

/** ONNX Slice index normalisation for one axis; shared with the device Slice op. */
export function sliceRange(start: number, end: number, step: number, len: number): [number, number, number] {
  if (step === 0) throw new Error('Slice: step must not be 0');
  const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + len : start;
  let e = end < 0 ? end + len : end;
  if (step > 0) {
    s = clampTo(s, 0, len);
    e = clampTo(e, 0, len);
  } else {
    s = clampTo(s, -1, len - 1);
    e = clampTo(e, -1, len - 1);
  }
  const count = Math.max(0, Math.ceil((e - s) / step));
  return [s, count, step];
}

function slice(ins: (HostValue | undefined)[], attrs: Attrs, opset: number): HostValue[] {
  const x = need(ins[0], 'Slice');
  const starts = opset >= 10 ? need(ins[1], 'Slice starts').values : ints(attrs, 'starts')!;
  const ends = opset >= 10 ? need(ins[2], 'Slice ends').values : ints(attrs, 'ends')!;
  const axes = (opset >= 10 ? ins[3]?.values : ints(attrs, 'axes')) ?? starts.map((_, i) => i);
  const steps = (opset >= 10 ? ins[4]?.values : undefined) ?? starts.map(() => 1);
  const r = x.dims.length;
  const ranges = x.dims.map((d) => [0, d, 1] as [number, number, number]);
  axes.forEach((a, i) => {
    const ax = normalizeAxis(a, r, 'Slice axis');
    ranges[ax] = sliceRange(starts[i], ends[i], steps[i], x.dims[ax]);
  });
  const dims = ranges.map((q) => q[1]);
  const st = stridesOf(x.dims);
  const values: number[] = [];
  const walk = (d: number, off: number) => {
    if (d === r) return void values.push(x.values[off]);
    const [s, count, step] = ranges[d];
    for (let k = 0; k < count; k++) walk(d + 1, off + (s + k * step) * st[d]);
  };
  if (size(dims) > 0) walk(0, 0);
  return [{ dtype: x.dtype, dims, values }];
}

/** ONNX Reshape target: 0 copies the input dim (unless allowzero), -1 is inferred. */
export function reshapeDims(inDims: readonly number[], target: readonly number[], allowZero = false): number[] {
  const dims = target.map((d, i) => (d === 0 && !allowZero ? inDims[i] : d));
  const known = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = inDims.reduce((a, b) => a * b, 1);
  const inferred = dims.indexOf(-1);
  if (dims.filter((d) => d === -1).length > 1) throw new Error(`Reshape: more than one -1 in [${target.join(', ')}]`);
  if (inferred >= 0) dims[inferred] = known === 0 ? 0 : total / known;
  if (dims.reduce((a, b) => a * b, 1) !== total || !dims.every(Number.isInteger)) {
    throw new Error(`Reshape: cannot reshape [${inDims.join(', ')}] to [${target.join(', ')}]`);
  }
  return dims;
}

function reshape(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Reshape');
  const dims = reshapeDims(x.dims, need(ins[1], 'Reshape shape').values, int(attrs, 'allowzero', 0) === 1);
  return [{ ...x, dims }];
}

const ONNX_TYPES: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 22: 'int4' };

export function onnxDType(code: number, what: string): DType {
  const t = ONNX_TYPES[code];
  if (!t) throw new Error(`${what}: ONNX data type ${code} is not supported`);
  return t;
}

function cast(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Cast');
  const to = onnxDType(int(attrs, 'to', 1), 'Cast to');
  return [{ dtype: to, dims: x.dims, values: x.values.map((v) => castValue(v, to)) }];
}

function range(ins: (HostValue | undefined)[]): HostValue[] {
  const [s, l, d] = ins.map((v, i) => need(v, `Range input ${i}`));
  const n = Math.max(Math.ceil((l.values[0] - s.values[0]) / d.values[0]), 0);
  const values = Array.from({ length: n }, (_, i) => castValue(s.values[0] + i * d.values[0], s.dtype));
  return [{ dtype: s.dtype, dims: [n], values }];
}

function constantOfShape(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const dims = need(ins[0], 'ConstantOfShape').values;
  // The `value` attribute is a one-element tensor (float32 0 when absent).
  const t = attrs.value instanceof Tensor ? fromHostTensor(attrs.value) : undefined;
  const dtype = t?.dtype ?? 'float32';
  const fill = t?.values[0] ?? 0;
  return [{ dtype, dims: [...dims], values: new Array(size(dims)).fill(fill) }];
}

function expand(ins: (HostValue | undefined)[]): HostValue[] {
  const x = need(ins[0], 'Expand');
  const shape = need(ins[1], 'Expand shape').values;
  // Broadcasting against a dummy of the target shape gives ONNX's bidirectional Expand.
  const target: HostValue = { dtype: x.dtype, dims: [...shape], values: new Array(size(shape)).fill(0) };
  return elementwise(x.dtype, (a) => a)([x, target]);
}

/** Trilu: keep the upper (upper=1) or lower triangle of the last two dims, shifted by k. */
function trilu(ins: (HostValue | undefined)[], attrs: Attrs): HostValue[] {
  const x = need(ins[0], 'Trilu');
  const k = ins[1]?.values[0] ?? 0;
  const upper = int(attrs, 'upper', 1) === 1;
  const [rows, cols] = x.dims.slice(-2);
  const values = x.values.map((v, i) => {
    const r = Math.floor(i / cols) % rows;
    const col = i % cols;
    return (upper ? col - r >= k : col - r <= k) ? v : 0;
  });
  return [{ ...x, values }];
}

export const HOST_OPS: Record<string, HostOp> = {
  Trilu: trilu,
  Shape: shape,
  Gather: gather,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concat,
  Slice: slice,
  Reshape: reshape,
  Cast: cast,
  Range: range,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Identity: (ins) => [need(ins[0], 'Identity')],
  Add: arith((a, b) => a + b),
  Sub: arith((a, b) => a - b),
  Mul: arith((a, b) => a * b),
  Div: arith(div),
  Mod: arith((a, b) => a % b),
  Pow: elementwise(null, (a, b) => a ** b),
  Max: elementwise(null, Math.max),
  Min: elementwise(null, Math.min),
  Neg: elementwise(null, (a) => -a),
  Abs: elementwise(null, Math.abs),
  Sqrt: elementwise(null, Math.sqrt),
  Floor: elementwise(null, Math.floor),
  Ceil: elementwise(null, Math.ceil),
  Equal: elementwise('bool', (a, b) => +(a === b)),
  Less: elementwise('bool', (a, b) => +(a < b)),
  Greater: elementwise('bool', (a, b) => +(a > b)),
  LessOrEqual: elementwise('bool', (a, b) => +(a <= b)),
  GreaterOrEqual: elementwise('bool', (a, b) => +(a >= b)),
  Not: elementwise('bool', (a) => +!a),
  And: elementwise('bool', (a, b) => +(a && b)),
  Or: elementwise('bool', (a, b) => +(a || b)),
  Where: elementwise((xs) => xs[1].dtype, (c, a, b) => (c ? a : b)),
};
