/** Device-memory leak check for the graph tests: what one more run leaves on the webgpu pool. */
import { expect } from 'vitest';
import type { Executor } from '../../src/graph/executor.js';
import type { Backend } from '../../src/tensor/backend.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { WebGpuBackend } from '../../src/tensor/webgpu/index.js';

/**
 * On webgpu, for an executor that has run these feeds once (its plan is built): running
 * again and disposing the outputs must leave the pool's live bytes exactly where they
 * were. Anything an op or the executor forgets to free shows up here. No-op elsewhere.
 */
export async function expectNoLeak(what: string, exec: Executor, feeds: Record<string, Tensor>, backend: Backend): Promise<void> {
  if (backend.name !== 'webgpu') return;
  const pool = (backend as WebGpuBackend).ctx.pool;
  await backend.sync();
  const before = pool.snapshot().liveBytes;
  const out = await exec.run(feeds);
  for (const t of Object.values(out)) t.dispose();
  await backend.sync();
  expect(pool.snapshot().liveBytes - before, `${what}: device bytes left by a second run`).toBe(0);
}
