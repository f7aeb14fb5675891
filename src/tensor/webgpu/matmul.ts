/**
 * webgpu launcher: Backend.matmul on `kernels/matmul.wgsl` (register-blocked tiles) or,
 * for M ≤ 4 rows, `kernels/matmul_gemv.wgsl` (split-K GEMV). Shapes, batch strides,
 * alpha and the bias flag are uniforms; transposes, vec4 loads and the tile shape are
 * override constants (at most 16 pipelines per tile shape).
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch } from '../../gpu/launch.js';
import type { Constants, KernelSource } from '../../gpu/pipelineCache.js';
import type { MatmulOptions } from '../backend.js';
import type { Tensor } from '../tensor.js';
import { fmtDims } from '../shape.js';
import { checkBias, matmulShape, type MatmulShape } from '../cpu/matmul.js';
import matmulSrc from '../../../kernels/matmul.wgsl';
import gemvSrc from '../../../kernels/matmul_gemv.wgsl';
import { broadcastPlan } from './broadcast.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

const tiled = { name: 'matmul', code: matmulSrc };
/** Rows the GEMV kernel handles (its MR). */
const GEMV_ROWS = 4;

/** Merged batch axes the uniform has room for (d0..d3). */
const MAX_BATCH_RANK = 4;

interface Tile {
  WX: number;
  WY: number;
  TK: number;
}

/**
 * 64×64 output tiles (16×16 threads, 4×4 each) when there are enough of them to fill a
 * GPU; otherwise 32×32 tiles (8×8 threads, K slices of 32, as onnxruntime's WebGPU
 * MatMul), so a (128, 768)·(768, 768) runs on 96 workgroups rather than 24.
 */
function pickTile(M: number, N: number, batches: number): Tile {
  const tiles64 = Math.ceil(M / 64) * Math.ceil(N / 64) * batches;
  return tiles64 >= 128 ? { WX: 16, WY: 16, TK: 16 } : { WX: 8, WY: 8, TK: 32 };
}

/** Batch layout for the kernel: merged dims (outermost first) and element strides of a and b. */
interface BatchPlan {
  count: number;
  dims: number[];
  sa: number[];
  sb: number[];
  /** Rows of the GEMM: M, or batch·M when the batch folds into M (b shared, a contiguous). */
  M: number;
}

function planBatch(s: MatmulShape): BatchPlan {
  const { M, N, K } = s;
  const p = broadcastPlan(s.batch, [s.aBatch, s.bBatch], 'matmul batch dims');
  const [pa, pb] = p.strides;
  // One b for every batch and a stored (batch, M, K): a single (batch·M, K) · (K, N) GEMM
  // fills the tiles better than `batch` small ones (a Linear layer on (B, T, C)).
  if (!s.transA && p.dims.length === 1 && pa[0] === 1 && pb[0] === 0) {
    return { count: 1, dims: [], sa: [], sb: [], M: p.n * M };
  }
  if (p.dims.length > MAX_BATCH_RANK) {
    throw new Error(`matmul: batch dims ${fmtDims(s.batch)} need ${p.dims.length} axes after merging; the kernel handles ${MAX_BATCH_RANK}`);
  }
  return { count: p.n, dims: p.dims, sa: pa.map((x) => x * M * K), sb: pb.map((x) => x * K * N), M };
}

/** The kernel binds a and b as array<vec4<f32>>: pooled buffers are sized in multiples of 16 bytes. */
function vec4Buf(b: GPUBuffer, t: Tensor): GPUBuffer {
  if (b.size % 16 !== 0) throw new Error(`matmul: the buffer of ${t} is ${b.size} bytes, not a multiple of 16 (not from the buffer pool?)`);
  return b;
}

/** `v` right-aligned in 4 slots, `fill` in front. */
const pad4 = (v: number[], fill: number) => [...new Array<number>(MAX_BATCH_RANK - v.length).fill(fill), ...v];

interface Choice {
  kernel: KernelSource;
  constants: Constants;
  /** Workgroups along x and y; z is the batch. */
  grid: [number, number];
}

/** The kernel, its override constants and grid for an (M, K)·(K, N) GEMM over `batches`. */
function choose(s: MatmulShape, M: number, batches: number): Choice {
  const { N, K } = s;
  // The stored rows' length; batch strides are multiples of it, so every vec4 is aligned.
  const VEC_B = +((s.transB ? K : N) % 4 === 0);
  const TRANS_A = +s.transA;
  if (M <= GEMV_ROWS) {
    // 64 threads. b stored (N, K): 8 lanes along a b row (128 contiguous bytes), 8 output
    // columns per workgroup. b stored (K, N): 4 column quads × 16 K slices. Both keep N/8
    // or N/16 workgroups in flight for N = 768 and few barriers (SwiftShader pays per
    // thread per barrier: 32-lane rows ran 7× slower there).
    const [SX, SY] = s.transB ? [8, 8] : [4, 16];
    return {
      kernel: { name: 'matmul_gemv', code: gemvSrc, entryPoint: s.transB ? 'nk' : 'kn' },
      constants: { SX, SY, MR: M === 1 ? 1 : M === 2 ? 2 : 4, TRANS_A, VEC_A: +(!s.transA && K % 4 === 0), VEC_B },
      grid: [s.transB ? Math.ceil(N / SY) : Math.ceil(N / (4 * SX)), 1],
    };
  }
  const tile = pickTile(M, N, batches);
  return {
    kernel: tiled,
    constants: { ...tile, TRANS_A, TRANS_B: +s.transB, VEC_A: +((s.transA ? M : K) % 4 === 0), VEC_B },
    grid: [Math.ceil(N / (4 * tile.WX)), Math.ceil(M / (4 * tile.WY))],
  };
}

export function matmul(ctx: GpuContext, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const s = matmulShape(a.dims, b.dims, opts);
  const ab = vec4Buf(buf(ctx, a, 'matmul a'), a);
  const bb = vec4Buf(buf(ctx, b, 'matmul b'), b);
  let biasBuf = ab; // never read when has_bias = 0; any read-only buffer fills the slot
  if (opts.bias) {
    checkBias(opts.bias, s.N);
    biasBuf = buf(ctx, opts.bias, 'matmul bias');
  }
  const y = out(ctx, s.outDims);
  if (y.size === 0) return y;
  const plan = planBatch(s);
  const { kernel, constants, grid } = choose(s, plan.M, plan.count);
  const d = pad4(plan.dims, 1);
  const maxZ = ctx.limits.maxComputeWorkgroupsPerDimension;
  // More batches than one dispatch's z allows: several launches, z_base apart.
  for (let z0 = 0; z0 < plan.count; z0 += maxZ) {
    launch(ctx, {
      kernel,
      constants,
      buffers: [ab, bb, gpuStorage(y).buffer, biasBuf],
      uniforms: [
        plan.M, s.N, s.K, opts.bias ? 1 : 0,
        { f32: opts.alpha ?? 1 }, z0, opts.bias?.size === 1 ? 0 : 1, 0,
        d[1], d[2], d[3], 0,
        ...pad4(plan.sa, 0), ...pad4(plan.sb, 0),
      ],
      workgroups: [grid[0], grid[1], Math.min(maxZ, plan.count - z0)],
    });
  }
  return y;
}
