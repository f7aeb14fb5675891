/**
 * The gpu.js runtime shared by the gpujs op files: one `GPU` instance, the mode it really
 * runs in, and a cache of kernels keyed by op name (never by shape).
 *
 * Modes: 'webgl2' in browsers (fragment-shader kernels, synchronous readPixels readback),
 * 'webasm' in Node and wherever WebGL2 is missing (kernels compiled to WebAssembly with
 * f32x4 SIMD, synchronous and single-threaded: gpu.js only uses its worker pool under its
 * async contract, and the Backend contract is synchronous). gpu.js's 'cpu' mode (kernels
 * transpiled to plain JavaScript) is the last resort and is always reported in `notes`.
 *
 * Shapes are kernel arguments, not compile-time constants: every kernel is created with
 * `dynamicOutput` and `dynamicArguments`, so one kernel serves every shape. Under the hood
 * webgl2 keeps one shader program (sizes are uniforms); webasm bakes sizes into the module
 * bytecode and keeps an LRU of 8 compiled modules per kernel: a new shape costs one module
 * compile (~1–3 ms for small shapes in Node 20), and a workload cycling through more than
 * 8 shapes on one kernel recompiles on every call (measured: 0.23 → 1.6 ms per small matmul).
 */
import gpujs from 'gpu.js';
import type { GPU as GpuType, IKernelRunShortcut, KernelOutput } from 'gpu.js';

export type GpuJsMode = 'webgl2' | 'webasm' | 'cpu';

export interface GpuJsOptions {
  /** Ask for a gpu.js mode; default: 'webgl2' where a browser offers it, else 'webasm', else 'cpu'. */
  mode?: GpuJsMode;
}

/** gpu.js argument types this project uses. */
export type ArgType = 'Array' | 'Integer' | 'Float';

/** What a kernel function sees as `this` (gpu.js fills it in; the function is transpiled, never called). */
export interface KernelThis {
  thread: { x: number; y: number; z: number };
  /** Compile-time choices (op codes), baked into the kernel like WGSL overrides. */
  constants: { op: number; which: number };
}

/**
 * Loops in kernels run to a size argument (K, r, …). WebGL needs a compile-time bound,
 * so gpu.js rewrites them as `for (i < loopMaxIterations) { if (i >= K) break; … }`.
 * Larger K than this is refused by the launcher with a clear error.
 */
export const LOOP_MAX = 1 << 20;

type KernelClass = abstract new (...args: never[]) => object;
const { GPU, WebGL2Kernel, WebAssemblyKernel, CPUKernel } = gpujs as unknown as {
  GPU: typeof GpuType;
  WebGL2Kernel: KernelClass;
  WebAssemblyKernel: KernelClass;
  CPUKernel: KernelClass;
};
/** The gpu.js kernel class each mode must run (GL kernels all report `mode` 'gpu', so classes, not names). */
const KERNEL_CLASS: Record<GpuJsMode, KernelClass> = { webgl2: WebGL2Kernel, webasm: WebAssemblyKernel, cpu: CPUKernel };

function defaultMode(): { mode: GpuJsMode; note?: string } {
  const hasDom = typeof document !== 'undefined';
  if (hasDom && GPU.isWebGL2Supported) return { mode: 'webgl2' };
  if (GPU.isWebAssemblySupported) {
    return hasDom ? { mode: 'webasm', note: 'WebGL2 unavailable in this browser; using gpu.js webasm' } : { mode: 'webasm' };
  }
  return { mode: 'cpu', note: 'neither WebGL2 nor WebAssembly available; gpu.js runs its plain-JavaScript cpu mode' };
}

type Kernel = IKernelRunShortcut;

export class GpuJsRuntime {
  readonly gpu: GpuType;
  readonly mode: GpuJsMode;
  /** Visible notes: a fallback to gpu.js 'cpu' mode, or a kernel gpu.js degraded on its own. */
  readonly notes: string[] = [];
  private readonly kernels = new Map<string, Kernel>();
  private readonly checked = new Set<string>();

  constructor(opts: GpuJsOptions = {}) {
    const choice = opts.mode ? { mode: opts.mode } : defaultMode();
    let gpu: GpuType;
    let mode = choice.mode;
    try {
      gpu = new GPU({ mode });
    } catch (err) {
      // e.g. 'webgl2' asked for in Node: gpu.js throws "A requested mode of … is not supported".
      this.note(`gpu.js mode '${mode}' unavailable (${(err as Error).message}); falling back to gpu.js cpu mode`);
      mode = 'cpu';
      gpu = new GPU({ mode });
    }
    if ('note' in choice && choice.note) this.note(choice.note);
    this.gpu = gpu;
    this.mode = mode;
  }

  /**
   * The kernel `name`, created on first use from `fn` (a plain JS function gpu.js
   * transpiles; it must not close over anything). `returns4` marks kernels that return
   * `[v0, v1, v2, v3]` per output cell. `constants` are compile-time choices (an op
   * code): each distinct set gets its own kernel, cached under `name`, which must say them.
   * `functions` are helpers the kernel calls; they must live in the kernel's own module
   * (an imported name would reach gpu.js rewritten by the bundler, e.g. `__import.f(v)`).
   */
  kernel(
    name: string,
    fn: Function,
    argumentTypes: Record<string, ArgType>,
    opts: { constants?: Partial<KernelThis['constants']>; returns4?: boolean; functions?: Function[] } = {},
  ): Kernel {
    let k = this.kernels.get(name);
    if (!k) {
      const returns4 = opts.returns4 ?? false;
      k = this.gpu.createKernel(fn as never, {
        output: [1],
        constants: { op: 0, which: 0, ...opts.constants },
        functions: opts.functions ?? [],
        argumentTypes,
        returnType: returns4 ? 'Array(4)' : 'Number',
        dynamicOutput: true,
        dynamicArguments: true,
        loopMaxIterations: LOOP_MAX,
        precision: 'single', // float32 textures on webgl2 (default 'unsigned' would pack into bytes)
        tactic: 'precision', // highp
      } as never) as Kernel;
      this.kernels.set(name, k);
    }
    return k;
  }

  /** Runs kernel `name` over `output` ([x], [x, y] or [x, y, z]; x is the fastest index). */
  run(name: string, k: Kernel, output: number[], args: (Float32Array | number)[]): KernelOutput {
    k.setOutput(output);
    const result = k(...(args as never[]));
    if (!this.checked.has(name)) {
      this.checked.add(name);
      // gpu.js silently swaps in its cpu kernel for things a backend cannot take; say so.
      if (!(k.kernel instanceof KERNEL_CLASS[this.mode])) {
        const ran = k.kernel.constructor.name;
        this.note(`gpu.js ran kernel '${name}' as ${ran}, not in '${this.mode}' mode (${k.kernel.fallbackReason ?? 'no reason given'})`);
      }
    }
    return result;
  }

  /** Names of the kernels created so far (one per op choice, never per shape). */
  get kernelNames(): string[] {
    return [...this.kernels.keys()];
  }

  destroy(): void {
    this.gpu.destroy();
    this.kernels.clear();
  }

  private note(msg: string): void {
    this.notes.push(msg);
    console.warn(`webpeft gpujs: ${msg}`);
  }
}

/** A 1-D kernel result as a Float32Array (webasm and webgl2 both return one; copy otherwise). */
export function flat1(r: KernelOutput, n: number): Float32Array {
  if (r instanceof Float32Array && r.length === n) return r;
  return Float32Array.from(r as ArrayLike<number>);
}
