/**
 * The graph IR: what the executor, the autodiff tape and the tuners see. It knows nothing
 * of ONNX's encoding (src/onnx/toIr.ts builds it from a ModelProto), but it keeps ONNX's
 * naming — op types, domains, opsets, value names — because target matching, error
 * messages and exports all speak in those names.
 *
 * Structurally it is a superset of the executor's `ExecGraph`, so an IR can be run as is.
 */
import type { DType, Tensor } from '../tensor/tensor.js';

/** A fixed size, or a symbolic one ('batch', 'sequence_length'); '?' when the exporter left it unnamed. */
export type Dim = number | string;

/** Attribute values as plain JS values: ints and floats as numbers, strings decoded, tensors decoded. */
export type AttrValue = number | string | Tensor | number[] | string[] | Tensor[];

export interface IrNode {
  /** Unique within the graph; unnamed ONNX nodes get `<opType>#<index>`. */
  name: string;
  opType: string;
  /** '' for the default ONNX domain (also when the file says 'ai.onnx'). */
  domain: string;
  /** Value names; '' marks an omitted optional input or output. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttrValue>;
}

export interface IrValue {
  name: string;
  dtype: DType;
  dims: Dim[];
  /** Set when the file gives no shape at all (dims is then []). */
  unknownRank?: true;
}

export interface GraphIR {
  name: string;
  producer: { name: string; version: string };
  /** Opset version per domain; '' is the default ONNX domain. */
  opsets: Record<string, number>;
  /** In topological order. */
  nodes: IrNode[];
  /** Constant tensors: the file's initializers and its Constant nodes' values. */
  initializers: Map<string, Tensor>;
  /** Inputs the caller feeds (initializers listed as inputs by old exporters are not among them). */
  inputs: IrValue[];
  outputs: IrValue[];
  /** Every value whose type the file declares (inputs, outputs, value_info). */
  values: Map<string, IrValue>;
  /** The model's metadata_props. */
  metadata: Record<string, string>;
  /** Lossy or unusual conversions made while reading (double → float32, uint4 → uint8 ...). */
  notes: string[];
}

/** value name → the node (index into `nodes`) that produces it. */
export function producers(ir: GraphIR): Map<string, number> {
  const out = new Map<string, number>();
  ir.nodes.forEach((n, i) => n.outputs.forEach((v) => v && out.set(v, i)));
  return out;
}

/** value name → indices of the nodes that read it, in graph order. */
export function consumers(ir: GraphIR): Map<string, number[]> {
  const out = new Map<string, number[]>();
  ir.nodes.forEach((n, i) =>
    n.inputs.forEach((v) => {
      if (!v) return;
      const list = out.get(v);
      if (!list) out.set(v, [i]);
      else if (list[list.length - 1] !== i) list.push(i); // Mul(x, x) reads x once
    }),
  );
  return out;
}
