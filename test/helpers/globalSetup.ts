/**
 * Probes for a WebGPU adapter once, before any worker starts, and tells the workers
 * through WEBPEFT_WEBGPU (inherited by forks). Without an adapter the WebGPU suites
 * skip and this prints one line; with WEBPEFT_REQUIRE_WEBGPU=1 (CI) the run fails.
 */
import { releaseDevice, tryGetDevice } from '../../src/gpu/device.js';

export default async function setup(): Promise<void> {
  let reason = '';
  let ctx = null;
  try {
    ctx = await tryGetDevice();
    if (!ctx) reason = 'no adapter (install chromium + libvulkan1 for SwiftShader, or use a machine with a GPU)';
  } catch (err) {
    reason = (err as Error).message;
  }
  if (ctx) {
    const i = ctx.info;
    process.env.WEBPEFT_WEBGPU = '1';
    console.log(`[webpeft tests] WebGPU adapter: ${i.vendor} ${i.architecture} ${i.description} via ${i.via}`);
    await releaseDevice();
    return;
  }
  process.env.WEBPEFT_WEBGPU = '0';
  if (process.env.WEBPEFT_REQUIRE_WEBGPU === '1') {
    throw new Error(`WEBPEFT_REQUIRE_WEBGPU=1 but no WebGPU adapter: ${reason}`);
  }
  console.log(`[webpeft tests] WebGPU suites SKIPPED: ${reason}`);
}
