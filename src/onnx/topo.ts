/**
 * Topological order by Kahn's algorithm. ONNX requires files to be sorted already, but
 * hand-edited and merged graphs are not always; sorting here keeps every later pass
 * simple. Among ready nodes the one earliest in the file goes first, so a sorted file
 * keeps its order exactly (generated module paths depend on that order being stable).
 */
import type { IrNode } from '../graph/ir.js';

/** `available`: values known before any node runs (inputs, initializers). */
export function topoSort(nodes: IrNode[], available: Set<string>): IrNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) =>
    n.outputs.forEach((v) => {
      if (!v) return;
      const prev = producer.get(v);
      if (prev !== undefined || available.has(v)) {
        const other = prev !== undefined ? `node '${nodes[prev].name}'` : 'an input or initializer';
        throw new Error(`value '${v}' is produced twice: by node '${n.name}' and by ${other}`);
      }
      producer.set(v, i);
    }),
  );
  const waiting = new Array<number>(nodes.length).fill(0);
  const readers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const v of new Set(n.inputs)) {
      if (!v || available.has(v)) continue;
      const p = producer.get(v);
      if (p === undefined) throw new Error(`node '${n.name}' (${n.opType}) reads '${v}', which no node, input or initializer provides`);
      waiting[i]++;
      readers[p].push(i);
    }
  });
  const ready = new MinHeap();
  waiting.forEach((w, i) => w === 0 && ready.push(i));
  const order: IrNode[] = [];
  while (ready.size) {
    const i = ready.pop();
    order.push(nodes[i]);
    for (const r of readers[i]) if (--waiting[r] === 0) ready.push(r);
  }
  if (order.length < nodes.length) throw cycleError(nodes, waiting);
  return order;
}

function cycleError(nodes: IrNode[], waiting: number[]): Error {
  const stuck = nodes.filter((_, i) => waiting[i] > 0).map((n) => `'${n.name}' (${n.opType})`);
  const shown = stuck.slice(0, 8).join(', ') + (stuck.length > 8 ? `, ... ${stuck.length - 8} more` : '');
  return new Error(`the graph has a cycle: ${stuck.length} nodes wait on each other: ${shown}`);
}

/** A binary min-heap of node indices. */
class MinHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
