/** The device op contract: one record per ONNX op type, registered in `registry.ts`. */
import type { Backend } from '../../tensor/backend.js';
import { fmtDims } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Attrs } from '../fold/hostOps.js';
import { fromHostTensor, type HostValue } from '../fold/values.js';

export interface OpCall {
  backend: Backend;
  /** Node name, op type and domain, for error messages. */
  where: string;
  attrs: Attrs;
  opset: number;
  /** Inputs in node order; `undefined` for an omitted optional input. */
  inputs: (Tensor | undefined)[];
  /** How many outputs the node declares (Split without sizes divides by it). */
  outputCount: number;
}

export type DeviceOp = (c: OpCall) => (Tensor | undefined)[];

/** Marks a tensor the op made as an intermediate, to be freed when the op ends; returns it. */
export type Own = <T extends Tensor | undefined>(t: T) => T;

/**
 * A device op whose intermediates are freed when it returns or throws: `own(t)` marks
 * one. The op's outputs and inputs are never freed, so owning a value that may be either
 * (`withBias` returns x as is) is safe. A reshape view keeps the buffer it shares alive,
 * so `b.reshape(own(t), dims)` leaves the view the only holder.
 */
export function scoped(body: (c: OpCall, own: Own) => (Tensor | undefined)[]): DeviceOp {
  return (c) => {
    const made: Tensor[] = [];
    let out: (Tensor | undefined)[] = [];
    try {
      out = body(c, (t) => (t && made.push(t), t));
      return out;
    } finally {
      for (const t of made) if (!out.includes(t) && !c.inputs.includes(t)) t.dispose();
    }
  };
}

/**
 * A new handle on x (a view, no copy) for an op that passes its input through: the
 * executor owns and frees each op output, so returning the input itself would free it twice.
 */
export const sameAs = (b: Backend, x: Tensor): Tensor =>
  x.location === 'cpu' ? new Tensor(x.dtype, x.hostData(), x.dims) : b.reshape(x, x.dims);

/** Input i, which the op requires. */
export function input(c: OpCall, i: number, what = `input ${i}`): Tensor {
  const t = c.inputs[i];
  if (!t) throw new Error(`${c.where}: ${what} is missing`);
  return t;
}

/**
 * The values of an input the op needs on the host (a shape, axes, starts): exporters
 * make these constants, which the planner folds, so they are host tensors here.
 */
export function hostInput(c: OpCall, i: number, what: string): HostValue | undefined {
  const t = c.inputs[i];
  if (!t) return undefined;
  if (t.location !== 'cpu') {
    throw new Error(`${c.where}: ${what} (input ${i}) must be known before the run, but it is computed on ${t.location}`);
  }
  return fromHostTensor(t);
}

export function attrInt(c: OpCall, name: string, dflt: number): number {
  const v = c.attrs[name];
  return typeof v === 'number' ? v : dflt;
}

export function attrFloat(c: OpCall, name: string, dflt: number): number {
  return attrInt(c, name, dflt);
}

export function attrInts(c: OpCall, name: string): number[] | undefined {
  const v = c.attrs[name];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

/** Host int64 indices narrowed to int32, as the backends' gather takes. */
export function int32Indices(c: OpCall, t: Tensor): Tensor {
  if (t.dtype === 'int32') return t;
  if (t.dtype !== 'int64') throw new Error(`${c.where}: indices must be int32 or int64, got ${t.dtype} ${fmtDims(t.dims)}`);
  if (t.location !== 'cpu') return t; // device int64 is already narrowed on upload
  const src = t.hostData<BigInt64Array>();
  const out = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v > 2147483647n || v < -2147483648n) throw new Error(`${c.where}: index ${v} does not fit int32`);
    out[i] = Number(v);
  }
  return new Tensor('int32', out, t.dims);
}
