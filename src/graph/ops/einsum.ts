/**
 * Einsum as backend ops: the equation is parsed into subscripts per operand, then
 * operands are contracted left to right. Each pairwise step is one batched matmul
 * (batch letters ‖ free letters ‖ summed letters, with transA / transB instead of a
 * transpose where the operand is already laid out that way), or a broadcast multiply
 * when nothing is summed (outer products). Letters that only one operand has and the
 * output drops are summed out first (backend.reduce); the result is transposed into the
 * output order. Ellipsis dims broadcast numpy-style. Not handled: a letter repeated
 * inside one operand (diagonals, traces) — a clear error names the equation.
 */
import type { Backend } from '../../tensor/backend.js';
import { fmtDims } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { input, type DeviceOp } from './types.js';

/** An operand with one subscript per dim; ellipsis dims get the symbols '.0', '.1', ... */
interface Term {
  t: Tensor;
  subs: string[];
}

export interface ParsedEinsum {
  inputs: string[][];
  output: string[];
}

/** Subscripts of each operand and of the output, for operands of the given ranks. */
export function parseEinsum(equation: string, ranks: readonly number[]): ParsedEinsum {
  const eq = equation.replace(/\s+/g, '');
  const [lhs, rhs] = eq.includes('->') ? eq.split('->') : [eq, undefined];
  const parts = lhs.split(',');
  if (parts.length !== ranks.length) throw new Error(`the equation has ${parts.length} operand(s), the node ${ranks.length} input(s)`);
  const letters = parts.map((p) => letterList(p.replace('...', '')));
  const ellRank = Math.max(0, ...parts.map((p, i) => (p.includes('...') ? ranks[i] - letters[i].length : 0)));
  const ell = (n: number) => Array.from({ length: n }, (_, k) => `.${ellRank - n + k}`);
  const inputs = parts.map((p, i) => {
    const n = ranks[i] - letters[i].length;
    if (p.includes('...') ? n < 0 : n !== 0) throw new Error(`operand ${i} '${p}' does not fit its rank ${ranks[i]}`);
    const at = p.indexOf('...');
    return at < 0 ? letters[i] : [...letterList(p.slice(0, at)), ...ell(n), ...letterList(p.slice(at + 3))];
  });
  let output: string[];
  if (rhs === undefined) {
    // Implicit output: the ellipsis dims, then the letters used exactly once, sorted.
    const count = new Map<string, number>();
    for (const l of letters.flat()) count.set(l, (count.get(l) ?? 0) + 1);
    output = [...ell(ellRank), ...[...count].filter(([, n]) => n === 1).map(([l]) => l).sort()];
  } else {
    const at = rhs.indexOf('...');
    output = at < 0 ? letterList(rhs) : [...letterList(rhs.slice(0, at)), ...ell(ellRank), ...letterList(rhs.slice(at + 3))];
  }
  return { inputs, output };
}

function letterList(s: string): string[] {
  const out = [...s];
  for (const ch of out) if (!/[a-zA-Z]/.test(ch)) throw new Error(`unexpected character '${ch}'`);
  return out;
}

export const einsum: DeviceOp = (c) => {
  const eq = c.attrs.equation;
  if (typeof eq !== 'string') throw new Error(`${c.where}: the equation attribute is missing`);
  const xs = c.inputs.map((_, i) => input(c, i, `input ${i}`));
  try {
    return [runEinsum(c.backend, eq, xs)];
  } catch (err) {
    const shapes = xs.map((x) => fmtDims(x.dims)).join(', ');
    throw new Error(`${c.where}: Einsum '${eq}' on ${shapes}: ${(err as Error).message}`, { cause: err });
  }
};

export function runEinsum(b: Backend, equation: string, xs: readonly Tensor[]): Tensor {
  const { inputs, output } = parseEinsum(equation, xs.map((x) => x.rank));
  for (const subs of [...inputs, output]) {
    const dup = subs.find((s, i) => subs.indexOf(s) !== i);
    if (dup) throw new Error(`subscript '${dup}' repeats within one term (diagonal / trace forms are not supported)`);
  }
  const size = letterSizes(inputs, xs);
  for (const s of output) if (!size.has(s)) throw new Error(`output subscript '${s}' appears in no input`);
  const given = new Set(xs);
  const done = (t: Tensor) => given.has(t) || t.dispose(); // intermediates only, never the node's inputs
  let terms: Term[] = xs.map((t, i) => ({ t, subs: inputs[i] }));
  // Sum out what only one operand has and the output drops ('ij->i', 'ij,j->j' on i).
  terms = terms.map((x, i) => sumOut(b, x, new Set([...output, ...terms.filter((_, j) => j !== i).flatMap((y) => y.subs)])));
  let acc = terms[0];
  for (let i = 1; i < terms.length; i++) {
    const keep = new Set([...output, ...terms.slice(i + 1).flatMap((y) => y.subs)]);
    const next = contract(b, acc, terms[i], keep);
    done(acc.t);
    done(terms[i].t);
    acc = next;
  }
  const perm = output.map((s) => acc.subs.indexOf(s));
  if (perm.every((p, i) => p === i)) return given.has(acc.t) ? b.reshape(acc.t, acc.t.dims) : acc.t;
  const y = b.transpose(acc.t, perm);
  done(acc.t);
  return y;
}

/** Size of every subscript; ellipsis dims broadcast (1 against n), letters must agree. */
function letterSizes(inputs: string[][], xs: readonly Tensor[]): Map<string, number> {
  const size = new Map<string, number>();
  inputs.forEach((subs, i) =>
    subs.forEach((s, d) => {
      const n = xs[i].dims[d];
      const had = size.get(s);
      if (had === undefined || had === 1) size.set(s, n);
      else if (n !== had && !(n === 1 && s.startsWith('.'))) throw new Error(`subscript '${s}' has sizes ${had} and ${n}`);
    }),
  );
  return size;
}

/** Sums the dims whose subscripts are not in `keep`. */
function sumOut(b: Backend, x: Term, keep: Set<string>): Term {
  const axes = x.subs.flatMap((s, d) => (keep.has(s) ? [] : [d]));
  if (axes.length === 0) return x;
  return { t: b.reduce('sum', x.t, axes, false), subs: x.subs.filter((s) => keep.has(s)) };
}

/**
 * One pairwise step: a (batch ‖ left ‖ summed) · b (batch ‖ summed ‖ right) →
 * (batch ‖ left ‖ right), batch dims broadcast by the matmul.
 */
function contract(b: Backend, x: Term, y: Term, keep: Set<string>): Term {
  const inY = new Set(y.subs);
  const inX = new Set(x.subs);
  // A summed letter of size 1 on one side broadcasts: Σ_k a[0]·b[k] = a[0]·Σ_k b[k].
  const summedBoth = x.subs.filter((s) => inY.has(s) && !keep.has(s));
  const dimOf = (t: Term, s: string) => t.t.dims[t.subs.indexOf(s)];
  const collapse = (t: Term, other: Term) => {
    const axes = summedBoth.flatMap((s) => (dimOf(t, s) !== 1 && dimOf(other, s) === 1 ? [t.subs.indexOf(s)] : []));
    return axes.length ? { t: b.reduce('sum', t.t, axes, true), subs: t.subs } : t;
  };
  const [a, c] = [collapse(x, y), collapse(y, x)];
  const batch = a.subs.filter((s) => inY.has(s) && keep.has(s));
  const left = a.subs.filter((s) => !inY.has(s));
  const right = c.subs.filter((s) => !inX.has(s));
  const sizes = (t: Term, subs: string[]) => subs.map((s) => dimOf(t, s));
  const prod = (dims: number[]) => dims.reduce((p, q) => p * q, 1);
  const outSubs = [...batch, ...left, ...right];
  const outDims = [
    ...batch.map((s) => Math.max(dimOf(a, s), dimOf(c, s))),
    ...sizes(a, left),
    ...sizes(c, right),
  ];
  let out: Tensor;
  if (summedBoth.length === 0) {
    // Nothing summed: a broadcast multiply, a as (batch, left, 1…) and c as (batch, 1…, right).
    const ta = arrange(b, a, [...batch, ...left], [...sizes(a, batch), ...sizes(a, left), ...right.map(() => 1)]);
    const tc = arrange(b, c, [...batch, ...right], [...sizes(c, batch), ...left.map(() => 1), ...sizes(c, right)]);
    out = b.binary('mul', ta, tc);
    for (const t of [ta, tc]) t.dispose(); // views or transposed copies made here
  } else {
    const [M, K, N] = [prod(sizes(a, left)), prod(sizes(a, summedBoth)), prod(sizes(c, right))];
    const transA = sameOrder(a.subs, [...batch, ...summedBoth, ...left]) && !sameOrder(a.subs, [...batch, ...left, ...summedBoth]);
    const transB = sameOrder(c.subs, [...batch, ...right, ...summedBoth]) && !sameOrder(c.subs, [...batch, ...summedBoth, ...right]);
    const ta = arrange(b, a, transA ? [...batch, ...summedBoth, ...left] : [...batch, ...left, ...summedBoth], [...sizes(a, batch), ...(transA ? [K, M] : [M, K])]);
    const tc = arrange(b, c, transB ? [...batch, ...right, ...summedBoth] : [...batch, ...summedBoth, ...right], [...sizes(c, batch), ...(transB ? [N, K] : [K, N])]);
    const y2 = b.matmul(ta, tc, { transA, transB }); // (batch…, M, N)
    out = b.reshape(y2, outDims);
    for (const t of [ta, tc, y2]) t.dispose(); // out is a view of y2: its buffer lives on
  }
  for (const [t, from] of [[a, x], [c, y]]) if (t.t !== from.t) t.t.dispose();
  return { t: out, subs: outSubs };
}

const sameOrder = (p: string[], q: string[]) => p.length === q.length && p.every((s, i) => s === q[i]);

/** Transposes `x` so its subscripts run in `order`, then reshapes to `dims`. */
function arrange(b: Backend, x: Term, order: string[], dims: number[]): Tensor {
  const perm = order.map((s) => x.subs.indexOf(s));
  if (perm.every((p, i) => p === i)) return b.reshape(x.t, dims);
  const t = b.transpose(x.t, perm);
  const r = b.reshape(t, dims);
  t.dispose();
  return r;
}
