/**
 * webgpu launchers for copies: a `CopyPlan` (../cpu/layoutPlan.ts) runs on
 * `kernels/copy_strided.wgsl`, or on the tiled `kernels/transpose.wgsl` when the plan,
 * after merging contiguous dims, is a batched 2-D transpose. Shared by transpose, slice,
 * sliceBackward, expand and concat in ./layout.ts.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch, type UniformField } from '../../gpu/launch.js';
import { fmtDims, stridesOf } from '../shape.js';
import { sizeOf, type DType, type Tensor } from '../tensor.js';
import { coalesce, type CopyPlan } from '../cpu/layoutPlan.js';
import { buf } from './common.js';
import copySrc from '../../../kernels/copy_strided.wgsl';
import transposeSrc from '../../../kernels/transpose.wgsl';

const WG = 256;
/** Dims the kernel's uniform has room for (two vec4 per stride list). */
const MAX_RANK = 8;
/** The tiled transpose only pays when both transposed dims fill a good part of a 32×32 tile. */
const MIN_TILED = 16;

/** Every dtype that can live on the device (int64 is narrowed to int32 on upload). */
export const DEVICE_DTYPES: DType[] = ['float32', 'int32', 'bool', 'float16', 'int8', 'uint8', 'int4'];

/** Elements per 32-bit device word (see ./storage.ts for the layouts). */
export function elementsPerWord(dtype: DType): number {
  if (dtype === 'float16') return 2;
  if (dtype === 'int8' || dtype === 'uint8') return 4;
  return dtype === 'int4' ? 8 : 1;
}

/** A tensor's device buffer (host tensors are uploaded) and its dtype on the device. */
export function deviceInput(ctx: GpuContext, t: Tensor, what: string): { buffer: GPUBuffer; dtype: DType } {
  const buffer = buf(ctx, t, what, DEVICE_DTYPES);
  checkBindable(ctx, buffer, what, t);
  return { buffer, dtype: t.dtype === 'int64' ? 'int32' : t.dtype };
}

/** A clear error instead of a bind-group validation failure for tensors over the binding limit. */
export function checkBindable(ctx: GpuContext, b: GPUBuffer, what: string, t: Tensor): void {
  const limit = ctx.limits.maxStorageBufferBindingSize;
  if (b.size > limit) {
    throw new Error(`${what}: ${t.dtype} ${fmtDims(t.dims)} needs a ${b.size}-byte binding, over this device's maxStorageBufferBindingSize (${limit})`);
  }
}

const isDense = (p: CopyPlan) => p.dst.offset === 0 && stridesOf(p.dims).every((s, i) => s === p.dst.strides[i]);

/**
 * Which kernel runs a 2-D transpose. `auto` takes the tiled one on hardware GPUs only:
 * SwiftShader runs workgroup barriers as fiber switches, and there the tiled (768, 3072)
 * transpose measured 12× slower than the plain copy (bench/layout.bench.ts).
 * Tests and benchmarks force either.
 */
export type TransposeKernel = 'auto' | 'tiled' | 'plain';

/**
 * Runs `plan` from `src` into `dst` (element offsets and strides of `dtype`). Packed
 * dtypes need a dense destination (the kernel writes whole words).
 */
export function copyStrided(
  ctx: GpuContext, plan: CopyPlan, src: GPUBuffer, dst: GPUBuffer, dtype: DType, what: string, kernel: TransposeKernel = 'auto',
): void {
  const n = sizeOf(plan.dims);
  if (n === 0) return;
  const p = coalesce(plan);
  const epw = elementsPerWord(dtype);
  if (epw > 1 && !isDense(p)) throw new Error(`${what}: ${dtype} (packed ${epw} per word) needs a dense destination on webgpu; cast to float32 first`);
  const tiled = kernel === 'tiled' || (kernel === 'auto' && !ctx.info.isSoftware);
  if (epw === 1 && tiled && tiledTranspose(ctx, p, src, dst)) return;
  const r = p.dims.length;
  if (r > MAX_RANK) {
    throw new Error(`${what}: the copy of box ${fmtDims(plan.dims)} still has ${r} dims after merging contiguous ones; the kernel takes at most ${MAX_RANK}`);
  }
  // Innermost first, padded to the 8 uniform slots.
  const slots = (a: number[]) => Array.from({ length: MAX_RANK }, (_, i) => (i < r ? a[r - 1 - i] : 0));
  const i32s = (a: number[]): UniformField[] => slots(a).map((v) => ({ i32: v }));
  const words = Math.ceil(n / epw);
  launch(ctx, {
    kernel: { name: 'copy_strided', code: copySrc },
    constants: { RANK: r, EPW: epw, WG },
    buffers: [src, dst],
    uniforms: [n, words, { i32: p.src.offset }, { i32: p.dst.offset }, ...slots(p.dims), ...i32s(p.src.strides), ...i32s(p.dst.strides)],
    workgroups: Math.ceil(words / WG),
  });
}

/**
 * Launches kernels/transpose.wgsl when the merged plan is out (B, C, R) = x (B, R, C)
 * transposed, with x contiguous from offset 0 and out dense; false otherwise.
 */
function tiledTranspose(ctx: GpuContext, p: CopyPlan, src: GPUBuffer, dst: GPUBuffer): boolean {
  const r = p.dims.length;
  if ((r !== 2 && r !== 3) || p.src.offset !== 0 || !isDense(p)) return false;
  const [C, R] = p.dims.slice(-2); // out is (…, C, R)
  const [sc, sr] = p.src.strides.slice(-2);
  const B = r === 3 ? p.dims[0] : 1;
  if (sc !== 1 || sr !== C || (r === 3 && p.src.strides[0] !== R * C)) return false;
  const max = ctx.limits.maxComputeWorkgroupsPerDimension;
  const grid: [number, number, number] = [Math.ceil(C / 32), Math.ceil(R / 32), B];
  if (Math.min(R, C) < MIN_TILED || grid.some((g) => g > max)) return false;
  launch(ctx, {
    kernel: { name: 'transpose', code: transposeSrc },
    buffers: [src, dst],
    uniforms: [R, C, B],
    workgroups: grid,
  });
  return true;
}
