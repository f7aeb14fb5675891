import { afterAll, describe, expect, it } from 'vitest';
import { bucketSize } from '../../src/gpu/bufferPool.js';
import { DeviceLostError, getDevice, releaseDevice } from '../../src/gpu/device.js';
import { launch, profile, readBuffer, workgroupGrid, writeBuffer } from '../../src/gpu/launch.js';
import { PipelineCache } from '../../src/gpu/pipelineCache.js';
import { WebGpuBackend } from '../../src/tensor/webgpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import fillSrc from '../../kernels/fill.wgsl';
import { hasWebGpu } from '../helpers/gpu.js';

describe('launch geometry (no device needed)', () => {
  it('keeps small 1-D grids in x', () => {
    expect(workgroupGrid(10, 65535, 'k')).toEqual([10, 1, 1]);
  });
  it('folds 1-D grids past the limit into x·y ≥ n with x ≤ limit', () => {
    const [x, y] = workgroupGrid(200_001, 65535, 'k');
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_001);
    expect(y).toBe(4);
  });
  it('names the kernel when a 3-D grid is too large', () => {
    expect(() => workgroupGrid([1, 1, 70000], 65535, 'matmul')).toThrow(/matmul.*70000/);
  });
  it('buckets sizes: powers of two to 1 MiB, then MiB multiples', () => {
    expect(bucketSize(1)).toBe(16);
    expect(bucketSize(1000)).toBe(1024);
    expect(bucketSize(1024)).toBe(1024);
    expect(bucketSize((1 << 20) + 1)).toBe(2 << 20);
    expect(bucketSize(3.5 * (1 << 20))).toBe(4 << 20);
  });
  it('pipeline keys ignore constant order and include entry point', () => {
    const k = { name: 'matmul', code: '' };
    expect(PipelineCache.key(k, { TILE: 64, VEC: 1 })).toBe(PipelineCache.key(k, { VEC: 1, TILE: 64 }));
    expect(PipelineCache.key(k, { TILE: 64 })).not.toBe(PipelineCache.key(k, { TILE: 32 }));
  });
});

describe.skipIf(!hasWebGpu)('webgpu device', () => {
  afterAll(() => releaseDevice());

  it('exposes adapter info and limits', async () => {
    const ctx = await getDevice();
    expect(ctx.limits.maxComputeWorkgroupsPerDimension).toBeGreaterThanOrEqual(65535);
    expect(typeof ctx.info.description).toBe('string');
    expect(['navigator.gpu', 'dawn', 'dawn+swiftshader']).toContain(ctx.info.via);
  });

  it('reuses pooled buffers of the same bucket', async () => {
    const ctx = await getDevice();
    const a = ctx.pool.acquire(1000);
    ctx.pool.release(a);
    const b = ctx.pool.acquire(900);
    expect(b).toBe(a);
    ctx.pool.release(b);
  });

  it('serves every shape from one pipeline (shapes are uniforms)', async () => {
    const ctx = await getDevice();
    const before = ctx.pipelines.size;
    for (const n of [3, 300, 3000]) {
      const buf = ctx.pool.acquire(n * 4);
      launch(ctx, { kernel: { name: 'fill', code: fillSrc }, constants: { WG: 64 }, buffers: [buf], uniforms: [n, 7], workgroups: Math.ceil(n / 64) });
      const got = new Uint32Array(await readBuffer(ctx, buf, n * 4));
      expect(got.every((v) => v === 7)).toBe(true);
      ctx.pool.release(buf);
    }
    expect(ctx.pipelines.size - before).toBe(1);
  });

  it('splits a dispatch larger than maxComputeWorkgroupsPerDimension', async () => {
    const ctx = await getDevice();
    // WG=1 makes the workgroup count equal the element count: 70_000 > 65_535.
    const n = 70_000;
    const buf = ctx.pool.acquire(n * 4);
    writeBuffer(ctx, buf, new Uint32Array(n));
    launch(ctx, { kernel: { name: 'fill', code: fillSrc }, constants: { WG: 1 }, buffers: [buf], uniforms: [n, 5], workgroups: n });
    const got = new Uint32Array(await readBuffer(ctx, buf, n * 4));
    expect(got[0]).toBe(5);
    expect(got[n - 1]).toBe(5);
    expect(got.every((v) => v === 5)).toBe(true);
    ctx.pool.release(buf);
  });

  it('profiles kernels with timestamp queries where the adapter has them', async () => {
    const ctx = await getDevice();
    const buf = ctx.pool.acquire(4096 * 4);
    const { wallMs, gpuNs } = await profile(ctx, () => {
      for (let i = 0; i < 3; i++) {
        launch(ctx, { kernel: { name: 'fill', code: fillSrc }, constants: { WG: 64 }, buffers: [buf], uniforms: [4096, i], workgroups: 64 });
      }
    });
    ctx.pool.release(buf);
    expect(wallMs).toBeGreaterThan(0);
    if (!ctx.hasTimestamps) return;
    expect([...gpuNs!.keys()]).toEqual(['fill']);
    expect(gpuNs!.get('fill')).toBeGreaterThan(0);
  });

  it('round-trips tensors of every device dtype', async () => {
    const g = await WebGpuBackend.create();
    const cases: Tensor[] = [
      new Tensor('float32', [1.5, -2, 3], [3]),
      new Tensor('int32', [-7, 0, 2147483647], [3]),
      new Tensor('float16', [0.5, -1, 65504], [3]),
      new Tensor('int8', [-128, 5, 127, 1, 2], [5]),
      new Tensor('uint8', [0, 255, 9], [3]),
      new Tensor('int4', [-8, 7, 3], [3]),
      new Tensor('bool', [1, 0, 1], [3]),
    ];
    for (const t of cases) expect(await g.upload(t).toArray(), t.dtype).toEqual(await t.toArray());
    const i64 = g.upload(new Tensor('int64', [1n, -2n, 3n], [3]));
    expect(i64.dtype).toBe('int32');
    expect(await i64.toArray()).toEqual([1, -2, 3]);
    expect(() => g.upload(new Tensor('int64', [2n ** 40n], [1]))).toThrow(/does not fit int32/);
  });

  it('zeros really are zeros, even in a reused buffer', async () => {
    const g = await WebGpuBackend.create();
    const junk = g.upload(new Tensor('float32', new Float32Array(100).fill(9), [100]));
    junk.dispose();
    const z = g.zeros('float32', [97]);
    expect((await z.toArray()).every((v) => v === 0)).toBe(true);
  });

  it('a lost device gives a clear error, and the next getDevice() is fresh', async () => {
    const g = await WebGpuBackend.create();
    const x = g.upload(new Tensor('float32', [1, 2], [2]));
    g.ctx.device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(() => g.unary('neg', x)).toThrow(DeviceLostError);
    const fresh = await WebGpuBackend.create();
    expect(fresh.ctx).not.toBe(g.ctx);
    expect(await fresh.unary('neg', fresh.upload(new Tensor('float32', [1, 2], [2]))).toArray()).toEqual([-1, -2]);
  });
});
