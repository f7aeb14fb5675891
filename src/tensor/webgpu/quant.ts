/**
 * webgpu launchers: DequantizeLinear and MatMulNBits' weight dequantization, both through
 * `kernels/dequantize.wgsl` (one index plan, see its header). CumSum and ScatterND are in
 * ./cumsum.ts and ./scatterND.ts, re-exported here for the backend's op table.
 */
import type { GpuContext } from '../../gpu/device.js';
import { launch, type UniformField } from '../../gpu/launch.js';
import type { Tensor } from '../tensor.js';
import dequantSrc from '../../../kernels/dequantize.wgsl';
import { blockwiseGeometry, dequantGeometry, QUANT_DTYPES } from '../cpu/quant.js';
import { buf, out } from './common.js';
import { gpuStorage } from './storage.js';

export { cumsum } from './cumsum.js';
export { scatterND } from './scatterND.js';

const WG = 256;

/** The uniforms of kernels/dequantize.wgsl, in struct order. */
interface DequantPlan {
  n: number;
  len: number;
  inner: number;
  bs: number;
  eo: number;
  /** Scale index strides (outer, block, inner). */
  s: [number, number, number];
  /** Zero-point index strides (outer, block, inner). */
  z: [number, number, number];
  zpDefault: number;
}

interface DequantLaunch {
  x: GPUBuffer;
  scale: GPUBuffer;
  zp: GPUBuffer | undefined;
  y: Tensor;
  bits: number;
  signed: boolean;
  zpMode: 0 | 1 | 2;
  plan: DequantPlan;
}

function run(ctx: GpuContext, l: DequantLaunch): void {
  const p = l.plan;
  if (p.n === 0) return;
  const uniforms: UniformField[] = [p.n, p.len, p.inner, p.bs, p.eo, ...p.s, ...p.z, { i32: p.zpDefault }];
  launch(ctx, {
    kernel: { name: 'dequantize', code: dequantSrc },
    constants: { BITS: l.bits, SIGNED: l.signed ? 1 : 0, ZP: l.zpMode, WG },
    // With no zero point the kernel never reads binding 3; the scale buffer stands in.
    buffers: [l.x, l.scale, l.zp ?? l.scale, gpuStorage(l.y).buffer],
    uniforms,
    workgroups: Math.ceil(p.n / WG),
  });
}

/** DequantizeLinear: (x − zeroPoint) · scale → float32, x int8 / uint8 / int4. */
export function dequantize(ctx: GpuContext, x: Tensor, scale: Tensor, zeroPoint: Tensor | undefined, axis: number, blockSize?: number): Tensor {
  const g = dequantGeometry(x, scale, zeroPoint, axis, blockSize ?? 0);
  const { outer, len, inner, blocks } = g;
  // Scale (and zero point) strides over (outer, block, inner); per tensor and per axis collapse them.
  const s: [number, number, number] = g.mode === 'tensor' ? [0, 0, 0] : g.mode === 'axis' ? [0, 1, 0] : [blocks * inner, inner, 1];
  const y = out(ctx, x.dims);
  run(ctx, {
    x: buf(ctx, x, 'dequantize x', [...QUANT_DTYPES]),
    scale: buf(ctx, scale, 'dequantize scale'),
    zp: zeroPoint ? buf(ctx, zeroPoint, 'dequantize zero point', x.dtype) : undefined,
    y,
    bits: x.dtype === 'int4' ? 4 : 8,
    signed: x.dtype !== 'uint8',
    zpMode: zeroPoint ? 1 : 0,
    plan: { n: x.size, len, inner, bs: g.blockSize, eo: len * inner, s, z: s, zpDefault: 0 },
  });
  return y;
}

/** MatMulNBits' B (N, ⌈K/block⌉, blob) uint8 → float32 (N, K); see `blockwiseGeometry` for the layout. */
export function dequantizeBlockwise(ctx: GpuContext, b: Tensor, scales: Tensor, zeroPoints: Tensor | undefined, n: number, k: number, bits: number, blockSize: number): Tensor {
  const g = blockwiseGeometry(b, scales, zeroPoints, n, k, bits, blockSize);
  const y = out(ctx, [n, k]);
  // Packed zero points: row n starts at field zpRow · (8 / bits); float ones are (N, k_blocks).
  const z: [number, number, number] = g.zp === 'float' ? [g.blocks, 1, 0] : [(g.zpRow * 8) / bits, 1, 0];
  run(ctx, {
    x: buf(ctx, b, 'dequantizeBlockwise B', 'uint8'),
    scale: buf(ctx, scales, 'dequantizeBlockwise scales'),
    zp: zeroPoints ? buf(ctx, zeroPoints, 'dequantizeBlockwise zero points', g.zp === 'float' ? 'float32' : 'uint8') : undefined,
    y,
    bits,
    signed: false,
    zpMode: g.zp === 'none' ? 0 : g.zp === 'packed' ? 1 : 2,
    plan: { n: n * k, len: k, inner: 1, bs: blockSize, eo: g.blocks * blockSize, s: [g.blocks, 1, 0], z, zpDefault: 2 ** (bits - 1) },
  });
  return y;
}
