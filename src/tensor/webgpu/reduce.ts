/**
 * webgpu launchers: ReduceSum / ReduceMean / ReduceMax over any axes (`kernels/reduce.wgsl`)
 * and their backward (`kernels/reduce_backward.wgsl`). Softmax and cross-entropy live
 * beside this file and are re-exported because `index.ts` reads the family from here.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { ReduceOp } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { checkReduceDy, reducePlan } from '../cpu/reduce.js';
import reduceSrc from '../../../kernels/reduce.wgsl';
import reduceBackwardSrc from '../../../kernels/reduce_backward.wgsl';
import { buf, out } from './common.js';
import { threadsPerRow } from './softmax.js';
import { gpuStorage } from './storage.js';

export { softmax, softmaxBackward } from './softmax.js';
export { crossEntropy, crossEntropyBackward } from './crossEntropy.js';

const WG = 256;
/** Kernel OP codes of kernels/reduce.wgsl. */
const SUM = 0, MEAN = 1, MAX = 2, COUNT_EQ = 3;
/** Split a reduction into partials when it would give fewer workgroups than this ... */
const MIN_WORKGROUPS = 128;
/** ... and each chunk would still hold at least this many elements. */
const MIN_CHUNK = 2048;
const MAX_GROUPS = 4;

interface Group {
  dim: number;
  /** Input stride of the group's innermost element. */
  stride: number;
  reduced: boolean;
}

/**
 * The input as groups of adjacent dims that are all kept or all reduced, innermost first,
 * size-1 dims dropped: (B, T, C) reduced over T becomes [C kept, T reduced, B kept].
 */
export function mergeGroups(dims: readonly number[], reduced: readonly boolean[]): Group[] {
  const groups: Group[] = [];
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    const d = dims[i];
    if (d === 1) continue;
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced[i]) last.dim *= d;
    else groups.push({ dim: d, stride, reduced: reduced[i] });
    stride *= d;
  }
  return groups;
}

/** A reduction as the kernel sees it: kept and reduced groups, innermost first. */
interface Job {
  kept: Group[];
  red: Group[];
  nOut: number;
  r: number;
  /** The last input axis is reduced: rows are contiguous. */
  rowMajor: boolean;
}

function jobOf(groups: Group[], what: string, dims: readonly number[]): Job {
  const kept = groups.filter((g) => !g.reduced);
  const red = groups.filter((g) => g.reduced);
  if (kept.length > MAX_GROUPS || red.length > MAX_GROUPS) {
    throw new Error(`${what} on ${fmtDims(dims)}: the axes interleave into more than ${MAX_GROUPS} kept or reduced runs; transpose first`);
  }
  const prod = (gs: Group[]) => gs.reduce((a, g) => a * g.dim, 1);
  return { kept, red, nOut: prod(kept), r: prod(red), rowMajor: groups.length > 0 && groups[0].reduced };
}

const nextPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * Outputs per workgroup. Rows: TY = WG / TX threads per row with ~ELEMS_PER_THREAD elements
 * each (as softmax). Columns: TX ≤ 64 neighbouring outputs, the rest of the workgroup splits r.
 */
function tileWidth(job: Job, perOutput: number): number {
  if (job.rowMajor) return WG / threadsPerRow(perOutput);
  return Math.min(64, nextPow2(job.nOut));
}

function vec4(gs: Group[], f: (g: Group) => number): number[] {
  return [0, 1, 2, 3].map((i) => (gs[i] ? f(gs[i]) : 1));
}

/** One launch of kernels/reduce.wgsl writing (nOut · nChunks) values into `y`. */
function launchReduce(ctx: GpuContext, op: number, job: Job, nChunks: number, bufs: { x: GPUBuffer; cmp: GPUBuffer; y: GPUBuffer }, scale: number): void {
  const chunk = Math.ceil(job.r / nChunks);
  const tx = tileWidth(job, chunk);
  launch(ctx, {
    kernel: { name: 'reduce', code: reduceSrc },
    constants: { OP: op, TX: tx, TY: WG / tx, ROWS: job.rowMajor ? 1 : 0 },
    buffers: [bufs.x, bufs.cmp, bufs.y],
    uniforms: [
      job.nOut, job.r, chunk, nChunks, job.kept.length, job.red.length,
      { f32: scale }, { f32: op === MAX ? -Infinity : 0 },
      ...vec4(job.kept, (g) => g.dim), ...vec4(job.kept, (g) => g.stride),
      ...vec4(job.red, (g) => g.dim), ...vec4(job.red, (g) => g.stride),
    ],
    workgroups: Math.ceil(job.nOut / tx) * nChunks,
  });
}

/**
 * Reduces `x` into a new (nOut) device tensor. Few outputs over a long reduction are
 * split into partials first (pass 1, per chunk), then the partials are reduced (pass 2).
 */
function reduceJob(ctx: GpuContext, op: number, job: Job, x: GPUBuffer, cmp: GPUBuffer | null, dims: readonly number[] = [job.nOut]): Tensor {
  const y = out(ctx, dims);
  const yb = gpuStorage(y).buffer;
  const tiles = Math.ceil(job.nOut / tileWidth(job, job.r));
  const nChunks = tiles >= MIN_WORKGROUPS ? 1 : Math.max(1, Math.min(Math.ceil(MIN_WORKGROUPS / tiles), Math.floor(job.r / MIN_CHUNK), WG));
  const scale = 1 / job.r;
  if (nChunks === 1) {
    launchReduce(ctx, op, job, 1, { x, cmp: cmp ?? x, y: yb }, scale);
    return y;
  }
  const partial = out(ctx, [job.nOut * nChunks]); // (nOut, nChunks)
  const pb = gpuStorage(partial).buffer;
  launchReduce(ctx, op === MEAN ? SUM : op, job, nChunks, { x, cmp: cmp ?? x, y: pb }, 1);
  const second: Job = {
    kept: job.nOut > 1 ? [{ dim: job.nOut, stride: nChunks, reduced: false }] : [],
    red: [{ dim: nChunks, stride: 1, reduced: true }],
    nOut: job.nOut,
    r: nChunks,
    rowMajor: true,
  };
  launchReduce(ctx, op === COUNT_EQ ? SUM : op, second, 1, { x: pb, cmp: pb, y: yb }, scale);
  partial.dispose(); // recorded passes keep their order; the pool may reuse it at once
  return y;
}

const OP_CODE: Record<ReduceOp, number> = { sum: SUM, mean: MEAN, max: MAX };

export function reduce(ctx: GpuContext, op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean): Tensor {
  const plan = reducePlan(op, x.dims, axes, keepDims);
  const xb = buf(ctx, x, `reduce ${op} x`);
  if (plan.nOut === 0) return out(ctx, plan.outDims);
  const job = jobOf(mergeGroups(x.dims, plan.reduced), `reduce ${op}`, x.dims);
  return reduceJob(ctx, OP_CODE[op], job, xb, null, plan.outDims);
}

/** sum/mean: dy broadcast back (· 1/r). max: torch.amax semantics, ties share the gradient evenly. */
export function reduceBackward(ctx: GpuContext, op: ReduceOp, x: Tensor, axes: readonly number[], keepDims: boolean, dy: Tensor): Tensor {
  const plan = reducePlan(op, x.dims, axes, keepDims);
  checkReduceDy(op, x, plan, dy);
  const dyb = buf(ctx, dy, `reduceBackward ${op} dy`);
  const dx = out(ctx, x.dims);
  if (x.size === 0) return dx;
  const groups = mergeGroups(x.dims, plan.reduced);
  const job = jobOf(groups, `reduceBackward ${op}`, x.dims);
  let xb = dyb, mb = dyb, cb = dyb;
  const temps: Tensor[] = [];
  if (op === 'max') {
    xb = buf(ctx, x, 'reduceBackward max x');
    const m = reduceJob(ctx, MAX, job, xb, null);
    const count = reduceJob(ctx, COUNT_EQ, job, xb, gpuStorage(m).buffer);
    temps.push(m, count);
    [mb, cb] = [gpuStorage(m).buffer, gpuStorage(count).buffer];
  }
  // Output stride of each group: the product of the kept dims inside it (0 when reduced).
  const ostr: number[] = [];
  let acc = 1;
  for (const g of groups) {
    ostr.push(g.reduced ? 0 : acc);
    if (!g.reduced) acc *= g.dim;
  }
  const pad8 = (v: number[], fill: number) => [...v, ...new Array(8 - v.length).fill(fill)];
  launch(ctx, {
    kernel: { name: 'reduce_backward', code: reduceBackwardSrc },
    constants: { OP: OP_CODE[op], WG },
    buffers: [xb, dyb, mb, cb, gpuStorage(dx).buffer],
    uniforms: [x.size, groups.length, { f32: op === 'mean' ? 1 / plan.r : 1 }, 0, ...pad8(groups.map((g) => g.dim), 1), ...pad8(ostr, 0)],
    workgroups: Math.ceil(x.size / WG),
  });
  for (const t of temps) t.dispose();
  return dx;
}
