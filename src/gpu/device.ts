/**
 * WebGPU device acquisition for browsers (`navigator.gpu`) and Node (Dawn, through the
 * optional `webgpu` package). One device is shared; when it is lost, the next
 * `getDevice()` call builds a fresh one and every pooled buffer and pipeline is dropped.
 */
import { BufferPool } from './bufferPool.js';
import { PipelineCache } from './pipelineCache.js';

/** Debian's chromium ships SwiftShader's Vulkan driver here: WebGPU on a CPU. */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True when the adapter is a software rasterizer (SwiftShader). */
  isSoftware: boolean;
  /** How the adapter was reached, for logs and benchmark tables. */
  via: 'navigator.gpu' | 'dawn' | 'dawn+swiftshader';
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterSummary;
  limits: GPUSupportedLimits;
  hasTimestamps: boolean;
  hasShaderF16: boolean;
  pool: BufferPool;
  pipelines: PipelineCache;
  /** Set once the device is lost; every launch checks it and throws `DeviceLostError`. */
  lost: { reason: string; message: string } | null;
}

export class NoWebGpuError extends Error {
  constructor(detail: string) {
    super(`No WebGPU adapter is available: ${detail}`);
    this.name = 'NoWebGpuError';
  }
}

export class DeviceLostError extends Error {
  constructor(reason: string, message: string) {
    super(
      `The WebGPU device was lost (${reason}: ${message || 'no message'}). ` +
        'Tensors that lived on it are gone; call getDevice() again for a fresh device and re-upload.',
    );
    this.name = 'DeviceLostError';
  }
}

let current: Promise<GpuContext> | null = null;
let saidSwiftShader = false;

/** The shared device; created on first use, recreated after a loss. */
export async function getDevice(): Promise<GpuContext> {
  if (current) {
    const ctx = await current;
    if (!ctx.lost) return ctx;
    current = null;
  }
  current = createContext();
  current.catch(() => (current = null));
  return current;
}

/** Like `getDevice()`, but resolves to null when no adapter can be had. */
export async function tryGetDevice(): Promise<GpuContext | null> {
  try {
    return await getDevice();
  } catch (err) {
    if (err instanceof NoWebGpuError) return null;
    throw err;
  }
}

/** Destroys the shared device (tests, benchmarks, shutdown). */
export async function releaseDevice(): Promise<void> {
  if (!current) return;
  const ctx = await current.catch(() => null);
  current = null;
  ctx?.pool.clear();
  ctx?.device.destroy();
}

async function createContext(): Promise<GpuContext> {
  const { adapter, via } = await requestAdapter();
  const wanted: GPUFeatureName[] = ['timestamp-query', 'shader-f16'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: pickLimits(adapter.limits),
  });
  const info = summarize(adapter, via);
  const ctx: GpuContext = {
    device,
    adapter,
    info,
    limits: device.limits,
    hasTimestamps: device.features.has('timestamp-query'),
    hasShaderF16: device.features.has('shader-f16'),
    pool: new BufferPool(device),
    pipelines: new PipelineCache(device),
    lost: null,
  };
  void device.lost.then((lost) => {
    ctx.lost = { reason: lost.reason ?? 'unknown', message: lost.message };
  });
  return ctx;
}

/** Ask for the adapter's own maxima where we benefit from them (large weight buffers). */
function pickLimits(l: GPUSupportedLimits): Record<string, number> {
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
  };
}

function summarize(adapter: GPUAdapter, via: AdapterSummary['via']): AdapterSummary {
  const i = adapter.info ?? ({} as GPUAdapterInfo);
  const text = `${i.vendor ?? ''} ${i.architecture ?? ''} ${i.description ?? ''}`.toLowerCase();
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isSoftware: text.includes('swiftshader') || Boolean((i as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    via,
  };
}

async function requestAdapter(): Promise<{ adapter: GPUAdapter; via: AdapterSummary['via'] }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) return { adapter, via: 'navigator.gpu' };
    if (!isNode()) throw new NoWebGpuError('navigator.gpu.requestAdapter() returned null in this browser.');
  }
  if (!isNode()) throw new NoWebGpuError('this browser has no navigator.gpu (WebGPU disabled or unsupported).');
  return requestNodeAdapter();
}

async function requestNodeAdapter(): Promise<{ adapter: GPUAdapter; via: AdapterSummary['via'] }> {
  const dawn = await importDawn();
  const adapter = await dawnInstance(dawn).requestAdapter({ powerPreference: 'high-performance' });
  if (adapter) return { adapter, via: 'dawn' };
  const icd = await findSwiftShaderIcd();
  if (!icd) {
    throw new NoWebGpuError(
      'Dawn found no Vulkan/Metal/D3D12 adapter and no SwiftShader driver at ' +
        `${SWIFTSHADER_ICD_PATHS.join(' or ')} (Debian: apt-get install chromium libvulkan1).`,
    );
  }
  // The Vulkan loader reads VK_ICD_FILENAMES when an instance is created, so a new
  // Dawn instance picks SwiftShader up without restarting the process.
  process.env.VK_ICD_FILENAMES = icd;
  const fallback = await dawnInstance(dawn, true).requestAdapter();
  if (!fallback) throw new NoWebGpuError(`SwiftShader at ${icd} gave no adapter either.`);
  if (!saidSwiftShader) {
    saidSwiftShader = true;
    console.info(`[webpeft] no hardware GPU adapter; using SwiftShader (${icd}), which runs WGSL on the CPU.`);
  }
  return { adapter: fallback, via: 'dawn+swiftshader' };
}

/**
 * Dawn instances are kept for the life of the process: a collected instance stops
 * processing events, so map and work-done promises never settle (or the process crashes).
 */
const dawnInstances: GPU[] = [];

function dawnInstance(dawn: DawnModule, fresh = false): GPU {
  if (fresh || dawnInstances.length === 0) dawnInstances.push(dawn.create([]));
  return dawnInstances[dawnInstances.length - 1];
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

async function importDawn(): Promise<DawnModule> {
  const name = 'webgpu'; // a variable, so browser bundlers leave this optional import alone
  let mod: DawnModule;
  try {
    mod = (await import(/* @vite-ignore */ name)) as DawnModule;
  } catch (err) {
    throw new NoWebGpuError(
      `the optional 'webgpu' package (Dawn for Node) is not installed or failed to load: ${(err as Error).message}`,
    );
  }
  // Dawn's constants (GPUBufferUsage, GPUShaderStage, GPUMapMode ...) are expected as globals.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod;
}

async function findSwiftShaderIcd(): Promise<string | null> {
  const fsName = 'node:fs';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
  return SWIFTSHADER_ICD_PATHS.find((p) => fs.existsSync(p)) ?? null;
}

export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return Boolean(p?.versions?.node);
}

/** Throws a clear error if the context's device was lost. */
export function assertAlive(ctx: GpuContext): void {
  if (ctx.lost) throw new DeviceLostError(ctx.lost.reason, ctx.lost.message);
}
