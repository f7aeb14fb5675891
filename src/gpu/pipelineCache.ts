/**
 * Compute pipelines keyed by kernel name plus compile-time choices only (WGSL
 * `override` constants such as tile sizes). Shapes are never part of the key: they
 * travel as uniforms, so one pipeline serves every shape.
 */
export type Constants = Record<string, number>;

export interface KernelSource {
  /** Stable name, e.g. `matmul`; part of the cache key. */
  name: string;
  /** The WGSL text of `kernels/<name>.wgsl`, exactly as it runs. */
  code: string;
  entryPoint?: string;
}

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  compiled = 0;

  constructor(private readonly device: GPUDevice) {}

  static key(kernel: KernelSource, constants: Constants = {}): string {
    const parts = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`);
    return [kernel.name, kernel.entryPoint ?? 'main', ...parts].join('|');
  }

  get(kernel: KernelSource, constants: Constants = {}): GPUComputePipeline {
    const k = PipelineCache.key(kernel, constants);
    let p = this.pipelines.get(k);
    if (p) return p;
    let module = this.modules.get(kernel.name);
    if (!module) {
      module = this.device.createShaderModule({ code: kernel.code, label: kernel.name });
      this.modules.set(kernel.name, module);
    }
    p = this.device.createComputePipeline({
      label: k,
      layout: 'auto',
      compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants },
    });
    this.pipelines.set(k, p);
    this.compiled++;
    return p;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
