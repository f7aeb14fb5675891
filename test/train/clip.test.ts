/** clip_grad_norm_ semantics vs a hand computation, on cpu and webgpu. */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/tensor/backend.js';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { clipGradNorm, gradNorm } from '../../src/train/clip.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';

const t32 = (v: number[], dims: readonly number[]) => new Tensor('float32', Float32Array.from(v), dims);

function suite(backend: () => Promise<Backend>) {
  // ‖(3, 4)‖² + ‖(12)‖² = 9 + 16 + 144 = 169 → total norm 13.
  const grads = (b: Backend) => ({ a: b.upload(t32([3, 4], [1, 2])), b: b.upload(t32([12], [1])) });

  it('norm over all tensors; clipped to max_norm / (norm + 1e-6)', async () => {
    const b = await backend();
    const g = grads(b);
    const norm = await clipGradNorm(b, g, 1.3);
    expect(norm).toBe(13);
    const coef = 1.3 / (13 + 1e-6); // ≈ 0.1
    const got = [...(await g.a.toArray()), ...(await g.b.toArray())];
    [3 * coef, 4 * coef, 12 * coef].forEach((w, i) => expect(Math.abs(got[i] - w)).toBeLessThan(1e-6 * Math.abs(w)));
    expect(await gradNorm(b, g)).toBeCloseTo(1.3, 5);
  });

  it('leaves gradients alone when the norm is within max_norm', async () => {
    const b = await backend();
    const g = grads(b);
    const before = g.a;
    expect(await clipGradNorm(b, g, 13.5)).toBe(13);
    expect(g.a).toBe(before);
    expect(await g.b.toArray()).toEqual([12]);
  });

  it('no gradients: norm 0', async () => {
    expect(await clipGradNorm(await backend(), {}, 1)).toBe(0);
  });
}

describe('clipGradNorm (cpu)', () => suite(async () => new CpuBackend()));
describe.skipIf(!hasWebGpu)('clipGradNorm (webgpu)', () => suite(gpu));
