/**
 * Op coverage: which op types a model uses that an executor does not implement, listed
 * once each, so a user sees the whole gap before anything runs instead of the first
 * missing op halfway through a forward pass.
 */

export interface MissingOp {
  opType: string;
  /** '' for the default ONNX domain. */
  domain: string;
  /** The model's opset for that domain (undefined when the model imports none for it). */
  opset: number | undefined;
  /** The first node (in topological order) that uses it. */
  firstNode: string;
  /** How many nodes use it. */
  count: number;
}

/** The key an op is known by in a `supported` set: 'MatMul' for the default domain, else 'com.microsoft::Attention'. */
export function opKey(domain: string, opType: string): string {
  return domain === '' || domain === 'ai.onnx' ? opType : `${domain}::${opType}`;
}

/** Every op type of `ir` whose `opKey` is not in `supported`, in order of first use. */
/** Only node names, op types, domains and opsets are read, so any graph-shaped value works. */
export interface OpInventory {
  nodes: readonly { name: string; opType: string; domain: string }[];
  opsets: Record<string, number>;
}

export function unsupportedOps(ir: OpInventory, supported: Set<string>): MissingOp[] {
  const missing = new Map<string, MissingOp>();
  for (const n of ir.nodes) {
    const key = opKey(n.domain, n.opType);
    if (supported.has(key)) continue;
    const seen = missing.get(key);
    if (seen) seen.count++;
    else missing.set(key, { opType: n.opType, domain: n.domain, opset: ir.opsets[n.domain], firstNode: n.name, count: 1 });
  }
  return [...missing.values()];
}

/** One line per missing op, for error messages. */
export function formatMissingOps(missing: MissingOp[]): string {
  return missing
    .map((m) => `${m.opType} (domain ${m.domain || 'ai.onnx'}, opset ${m.opset ?? '?'}): ${m.count} node(s), first '${m.firstNode}'`)
    .join('\n');
}
