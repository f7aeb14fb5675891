/**
 * Kernel launch, upload and readback.
 *
 * Dispatches are recorded into one pending command encoder and submitted together
 * (on readback, before any queue write, or every MAX_PENDING passes): one submit per op
 * costs tens of microseconds on real GPUs. Queue writes flush first because
 * `queue.writeBuffer` is ordered before any encoder submitted after it, and a pooled
 * buffer may still be read by a recorded pass.
 */
import { assertAlive, type GpuContext } from './device.js';
import type { Constants, KernelSource } from './pipelineCache.js';

/** A uniform field: a plain number is a u32; f32 and i32 are tagged. */
export type UniformField = number | { f32: number } | { i32: number };

export interface Launch {
  kernel: KernelSource;
  /** Compile-time choices (WGSL `override` constants): part of the pipeline key. */
  constants?: Constants;
  /** Storage buffers bound at @group(0) @binding(1..n), in order. */
  buffers: GPUBuffer[];
  /** Packed into a uniform buffer bound at @group(0) @binding(0). */
  uniforms: UniformField[];
  /**
   * Workgroup count. A number is a 1-D count that is folded into (x, y) when it exceeds
   * `maxComputeWorkgroupsPerDimension`; such kernels linearize their workgroup id as
   * `wid.x + wid.y * nwg.x` and bounds-check.
   */
  workgroups: number | [number, number, number];
}

const MAX_PENDING = 64;

interface Pending {
  encoder: GPUCommandEncoder | null;
  passes: number;
  trash: GPUBuffer[];
  /** Pooled buffers to hand back once the passes that read them are submitted. */
  toRelease: GPUBuffer[];
  profiler: Profiler | null;
}

const pendingByDevice = new WeakMap<GPUDevice, Pending>();

function pendingOf(ctx: GpuContext): Pending {
  let p = pendingByDevice.get(ctx.device);
  if (!p) pendingByDevice.set(ctx.device, (p = { encoder: null, passes: 0, trash: [], toRelease: [], profiler: null }));
  return p;
}

export function launch(ctx: GpuContext, l: Launch): void {
  assertAlive(ctx);
  const pipeline = ctx.pipelines.get(l.kernel, l.constants);
  const uniform = makeUniformBuffer(ctx.device, l.uniforms);
  const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform } }];
  l.buffers.forEach((buffer, i) => entries.push({ binding: i + 1, resource: { buffer } }));
  const bindGroup = ctx.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  const p = pendingOf(ctx);
  p.encoder ??= ctx.device.createCommandEncoder();
  const pass = p.encoder.beginComputePass(p.profiler?.passDescriptor(ctx, l.kernel.name));
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [x, y, z] = workgroupGrid(l.workgroups, ctx.limits.maxComputeWorkgroupsPerDimension, l.kernel.name);
  pass.dispatchWorkgroups(x, y, z);
  pass.end();
  p.trash.push(uniform);
  if (++p.passes >= MAX_PENDING) flush(ctx);
}

/** Splits a 1-D count over (x, y); checks 3-D grids against the limit. */
export function workgroupGrid(
  wg: number | [number, number, number],
  max: number,
  name: string,
): [number, number, number] {
  if (typeof wg === 'number') {
    const n = Math.max(1, Math.ceil(wg));
    if (n <= max) return [n, 1, 1];
    const y = Math.ceil(n / max);
    if (y > max) throw new Error(`kernel ${name}: ${n} workgroups exceed ${max}² even when split over x and y`);
    return [Math.ceil(n / y), y, 1];
  }
  for (const d of wg) {
    if (d > max) throw new Error(`kernel ${name}: dispatch [${wg.join(', ')}] exceeds maxComputeWorkgroupsPerDimension=${max}`);
  }
  return [Math.max(1, wg[0]), Math.max(1, wg[1]), Math.max(1, wg[2])];
}

function makeUniformBuffer(device: GPUDevice, fields: UniformField[]): GPUBuffer {
  // 16-byte minimum size and multiple of 16: WGSL uniform structs are 16-aligned.
  const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const buf = device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
  const view = new DataView(buf.getMappedRange());
  fields.forEach((f, i) => {
    if (typeof f === 'number') {
      if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) throw new Error(`uniform ${i}: ${f} is not a u32`);
      view.setUint32(i * 4, f, true);
    } else if ('f32' in f) view.setFloat32(i * 4, f.f32, true);
    else view.setInt32(i * 4, f.i32, true);
  });
  buf.unmap();
  return buf;
}

/** Submits every recorded pass. */
export function flush(ctx: GpuContext): void {
  const p = pendingOf(ctx);
  if (!p.encoder) return;
  p.profiler?.resolve(p.encoder);
  ctx.device.queue.submit([p.encoder.finish()]);
  for (const b of p.trash) b.destroy();
  for (const b of p.toRelease) ctx.pool.release(b);
  p.encoder = null;
  p.passes = 0;
  p.trash = [];
  p.toRelease = [];
}

/** Returns a pooled buffer to the pool after the recorded passes are submitted. */
export function releaseAfterSubmit(ctx: GpuContext, buffer: GPUBuffer): void {
  pendingOf(ctx).toRelease.push(buffer);
}

/** Writes host bytes into a GPU buffer, after submitting recorded work (see header). */
export function writeBuffer(ctx: GpuContext, buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
  assertAlive(ctx);
  flush(ctx);
  // writeBuffer needs a multiple of 4 bytes; pad the tail of odd-sized byte data.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
  ctx.device.queue.writeBuffer(buf, offset, padded.buffer, padded.byteOffset, padded.byteLength);
}

function padTo4(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(b.byteLength / 4) * 4);
  out.set(b);
  return out;
}

/** Copies `bytes` bytes of a GPU buffer to the host. */
export async function readBuffer(ctx: GpuContext, buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
  assertAlive(ctx);
  const size = Math.ceil(bytes / 4) * 4;
  const staging = ctx.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const p = pendingOf(ctx);
  p.encoder ??= ctx.device.createCommandEncoder();
  p.encoder.copyBufferToBuffer(buf, offset, staging, 0, size);
  flush(ctx);
  try {
    await staging.mapAsync(GPUMapMode.READ);
  } catch (err) {
    assertAlive(ctx);
    throw err;
  }
  const out = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return out;
}

/** Resolves once the GPU has finished everything submitted so far. */
export async function sync(ctx: GpuContext): Promise<void> {
  flush(ctx);
  await ctx.device.queue.onSubmittedWorkDone();
}

/**
 * GPU time per kernel from timestamp queries, for benchmarks. Only where the adapter
 * has `timestamp-query`; otherwise `profile` reports wall time alone.
 */
export class Profiler {
  private readonly names: string[] = [];
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  private readonly readBuf: GPUBuffer;

  constructor(
    ctx: GpuContext,
    private readonly capacity = 256,
  ) {
    this.querySet = ctx.device.createQuerySet({ type: 'timestamp', count: capacity * 2 });
    this.resolveBuf = ctx.device.createBuffer({
      size: capacity * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.readBuf = ctx.device.createBuffer({ size: capacity * 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  passDescriptor(_ctx: GpuContext, name: string): GPUComputePassDescriptor | undefined {
    if (this.names.length >= this.capacity) return undefined;
    const i = this.names.push(name) - 1;
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  resolve(encoder: GPUCommandEncoder): void {
    if (this.names.length === 0) return;
    encoder.resolveQuerySet(this.querySet, 0, this.names.length * 2, this.resolveBuf, 0);
    encoder.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, this.names.length * 16);
  }

  /** Nanoseconds per kernel name, summed over the recorded passes. */
  async read(): Promise<Map<string, number>> {
    await this.readBuf.mapAsync(GPUMapMode.READ);
    const t = new BigInt64Array(this.readBuf.getMappedRange().slice(0));
    this.readBuf.unmap();
    const out = new Map<string, number>();
    this.names.forEach((n, i) => out.set(n, (out.get(n) ?? 0) + Number(t[2 * i + 1] - t[2 * i])));
    return out;
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuf.destroy();
    this.readBuf.destroy();
  }
}

/** Runs `fn`, returning wall time and, where available, GPU nanoseconds per kernel. */
export async function profile(
  ctx: GpuContext,
  fn: () => void | Promise<void>,
): Promise<{ wallMs: number; gpuNs: Map<string, number> | null }> {
  await sync(ctx);
  const p = pendingOf(ctx);
  const profiler = ctx.hasTimestamps ? new Profiler(ctx) : null;
  p.profiler = profiler;
  const t0 = performance.now();
  try {
    await fn();
    await sync(ctx);
  } finally {
    p.profiler = null;
  }
  const wallMs = performance.now() - t0;
  const gpuNs = profiler ? await profiler.read() : null;
  profiler?.destroy();
  return { wallMs, gpuNs };
}
