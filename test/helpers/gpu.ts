/** WebGPU test plumbing: one backend per worker, suites skipped when globalSetup found no adapter. */
import { WebGpuBackend } from '../../src/tensor/webgpu/index.js';

export const hasWebGpu = process.env.WEBPEFT_WEBGPU === '1';

let backend: Promise<WebGpuBackend> | null = null;

/** The shared webgpu backend; only call inside a suite guarded by `hasWebGpu`. */
export function gpu(): Promise<WebGpuBackend> {
  backend ??= WebGpuBackend.create();
  return backend;
}
