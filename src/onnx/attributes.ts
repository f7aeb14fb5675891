/**
 * NodeProto attributes → plain JS values. Subgraphs are rejected: only control flow ops
 * carry them, and those are refused before this runs; anything else with a graph
 * attribute (com.microsoft BeamSearch ...) is refused here with the node's name.
 */
import type { AttrValue } from '../graph/ir.js';
import { tensorFromProto } from './initializers.js';
import { AttrType, has, int64ToNumber, type AttributeProto, type NodeProto } from './proto.js';

const utf8 = new TextDecoder();

export function attributesFromProto(node: NodeProto, where: string, notes: string[]): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const a of node.attribute) {
    const what = `attribute '${a.name}' of ${where}`;
    if (a.refAttrName) throw new Error(`${what}: references a function attribute ('${a.refAttrName}'); functions are not supported`);
    out[a.name] = attrValue(a, what, notes);
  }
  return out;
}

function attrValue(a: AttributeProto, what: string, notes: string[]): AttrValue {
  const type = a.type || inferType(a);
  switch (type) {
    case AttrType.FLOAT:
      return a.f;
    case AttrType.INT:
      return int64ToNumber(a.i);
    case AttrType.STRING:
      return utf8.decode(a.s);
    case AttrType.TENSOR:
      return tensorFromProto(a.t!, notes, what);
    case AttrType.FLOATS:
      return [...a.floats];
    case AttrType.INTS:
      return a.ints.map(int64ToNumber);
    case AttrType.STRINGS:
      return a.strings.map((s) => utf8.decode(s));
    case AttrType.TENSORS:
      return a.tensors.map((t, i) => tensorFromProto(t, notes, `${what}[${i}]`));
    case AttrType.GRAPH:
    case AttrType.GRAPHS:
      throw new Error(`${what}: is a subgraph; ops with subgraphs are not supported yet`);
    default:
      throw new Error(`${what}: attribute type ${type} (sparse tensor, type proto or undefined) is not supported`);
  }
}

/** IR version 1 files may leave `type` unset: infer it from the field that is present. */
function inferType(a: AttributeProto): number {
  if (has(a, 'f')) return AttrType.FLOAT;
  if (has(a, 'i')) return AttrType.INT;
  if (has(a, 's')) return AttrType.STRING;
  if (a.t) return AttrType.TENSOR;
  if (a.g) return AttrType.GRAPH;
  if (a.floats.length) return AttrType.FLOATS;
  if (a.ints.length) return AttrType.INTS;
  if (a.strings.length) return AttrType.STRINGS;
  if (a.tensors.length) return AttrType.TENSORS;
  if (a.graphs.length) return AttrType.GRAPHS;
  return AttrType.UNDEFINED;
}
