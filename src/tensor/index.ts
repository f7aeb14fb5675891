/**
 * Backend selection. `auto` tries webgpu, then gpujs, then cpu, and the returned
 * backend's `name` (and `selectionNote`) say which one answered and why.
 */
import type { Backend } from './backend.js';
import { CpuBackend } from './cpu/index.js';
import { NoWebGpuError } from '../gpu/device.js';

export type BackendName = 'auto' | 'webgpu' | 'gpujs' | 'cpu';

export interface SelectedBackend {
  backend: Backend;
  /** Why this backend: e.g. "webgpu unavailable: …; using gpujs (webasm)". */
  note: string;
}

export async function createBackend(name: BackendName = 'auto'): Promise<Backend> {
  return (await selectBackend(name)).backend;
}

export async function selectBackend(name: BackendName = 'auto'): Promise<SelectedBackend> {
  if (name === 'cpu') return { backend: new CpuBackend(), note: 'cpu (requested)' };
  if (name === 'webgpu') return { backend: await webgpu(), note: 'webgpu (requested)' };
  if (name === 'gpujs') {
    const b = await gpujs();
    return { backend: b, note: `gpujs (requested) ${gpujsMode(b)}` };
  }
  const skipped: string[] = [];
  try {
    return { backend: await webgpu(), note: 'webgpu' };
  } catch (err) {
    if (!(err instanceof NoWebGpuError)) throw err;
    skipped.push(`webgpu unavailable: ${err.message}`);
  }
  try {
    const b = await gpujs();
    return { backend: b, note: `${skipped.join('; ')}; using gpujs ${gpujsMode(b)}` };
  } catch (err) {
    skipped.push(`gpujs unavailable: ${(err as Error).message}`);
  }
  return { backend: new CpuBackend(), note: `${skipped.join('; ')}; using cpu` };
}

async function webgpu(): Promise<Backend> {
  const { WebGpuBackend } = await import('./webgpu/index.js');
  return WebGpuBackend.create();
}

async function gpujs(): Promise<Backend & { mode: string; notes: readonly string[] }> {
  const { GpuJsBackend } = await import('./gpujs/index.js');
  return new GpuJsBackend();
}

/** e.g. "(webasm)" or "(cpu: webgl2 unavailable …)": the gpu.js mode actually in use. */
function gpujsMode(b: { mode: string; notes: readonly string[] }): string {
  return b.notes.length ? `(${b.mode}: ${b.notes.join('; ')})` : `(${b.mode})`;
}
