/**
 * webgpu launcher: sumToShape (`kernels/sum_to_shape.wgsl`), the backward of
 * broadcasting. Deterministic two-level reduction: the R summed elements are split
 * into S chunks written as (S, nOut) partials, which a second launch sums.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Tensor } from '../tensor.js';
import { fmtDims, stridesOf } from '../shape.js';
import { checkSumToShape } from '../cpu/binary.js';
import sumSrc from '../../../kernels/sum_to_shape.wgsl';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

/** Merged runs of kept (output) and reduced axes, outermost first, with x's strides. */
interface SumPlan {
  keptDims: number[];
  keptStrides: number[];
  redDims: number[];
  redStrides: number[];
  /** The innermost axis in memory is a reduced one. */
  innerReduced: boolean;
}

const prod = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);

/** Kept and summed runs the kernel's uniform has room for (four vec4 levels). */
const MAX_RUNS = 4;

function sumPlan(xDims: readonly number[], dims: readonly number[]): SumPlan {
  const rank = Math.max(xDims.length, dims.length);
  const X = [...new Array<number>(rank - xDims.length).fill(1), ...xDims];
  const D = [...new Array<number>(rank - dims.length).fill(1), ...dims];
  const st = stridesOf(X);
  const p: SumPlan = { keptDims: [], keptStrides: [], redDims: [], redStrides: [], innerReduced: false };
  let last: 'k' | 'r' | null = null;
  // Inner → outer; x is contiguous, so adjacent axes of one kind always merge.
  for (let i = rank - 1; i >= 0; i--) {
    if (X[i] === 1) continue;
    const kind = D[i] === 1 ? 'r' : 'k';
    const [ds, ss] = kind === 'k' ? [p.keptDims, p.keptStrides] : [p.redDims, p.redStrides];
    if (last === null) p.innerReduced = kind === 'r';
    if (kind === last) ds[ds.length - 1] *= X[i];
    else {
      ds.push(X[i]);
      ss.push(st[i]);
    }
    last = kind;
  }
  for (const a of [p.keptDims, p.keptStrides, p.redDims, p.redStrides]) a.reverse();
  if (p.keptDims.length > MAX_RUNS || p.redDims.length > MAX_RUNS) {
    throw new Error(`sumToShape ${fmtDims(xDims)} → ${fmtDims(dims)}: more than ${MAX_RUNS} alternating kept/summed axis runs`);
  }
  return p;
}

/** How the R summed elements are split: S chunks of `chunk`, kernel mode and workgroup size. */
function split(nOut: number, R: number, innerReduced: boolean): { S: number; chunk: number; inner: boolean; wg: number } {
  // A workgroup per output only pays when the summed run is long enough to fill it.
  const inner = innerReduced && R >= 32;
  const wg = inner ? Math.min(256, 2 ** Math.ceil(Math.log2(R))) : 256;
  // Enough chunks to occupy the GPU (~64k threads, or 4k workgroups), but not tiny ones.
  const S = inner
    ? Math.min(Math.ceil(R / (wg * 8)), Math.max(1, Math.ceil(4096 / nOut)))
    : Math.min(Math.ceil(R / 64), Math.max(1, Math.floor(65536 / nOut)));
  if (R === 0 || S <= 1) return { S: 1, chunk: Math.max(R, 1), inner, wg };
  const chunk = Math.ceil(R / S);
  return { S: Math.ceil(R / chunk), chunk, inner, wg };
}

/** Sums the contiguous float32 `x` (of `xDims`) to `dims`, into a new tensor of `outDims` (same size). */
function sumTo(ctx: GpuContext, x: GPUBuffer, xDims: readonly number[], dims: readonly number[], outDims: readonly number[]): Tensor {
  const p = sumPlan(xDims, dims);
  const nOut = prod(p.keptDims);
  const R = prod(p.redDims);
  const { S, chunk, inner, wg } = split(nOut, R, p.innerReduced);
  const target = S === 1 ? out(ctx, outDims) : out(ctx, [S, nOut]);
  const levels: number[] = [];
  for (let j = 0; j < MAX_RUNS; j++) {
    levels.push(p.keptDims[j] ?? 1, p.keptStrides[j] ?? 0, p.redDims[j] ?? 1, p.redStrides[j] ?? 0);
  }
  launch(ctx, {
    kernel: { name: 'sum_to_shape', code: sumSrc },
    constants: { INNER: inner ? 1 : 0, KR: p.keptDims.length, RR: p.redDims.length, WG: wg },
    buffers: [x, gpuStorage(target).buffer],
    uniforms: [nOut, R, S, chunk, ...levels],
    workgroups: inner ? nOut * S : Math.ceil((nOut * S) / wg),
  });
  if (S === 1) return target;
  // (S, nOut) partials → (nOut): a column sum, run by the same kernel.
  const y = sumTo(ctx, gpuStorage(target).buffer, [S, nOut], [1, nOut], outDims);
  target.dispose(); // later passes are recorded after this one, so the buffer may be reused
  return y;
}

export function sumToShape(ctx: GpuContext, x: Tensor, dims: readonly number[]): Tensor {
  const xb = buf(ctx, x, 'sumToShape');
  checkSumToShape(x.dims, dims);
  if (prod(dims) === 0) return out(ctx, dims);
  return sumTo(ctx, xb, x.dims, dims, dims);
}
