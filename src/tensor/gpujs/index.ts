/**
 * The `gpujs` backend: gpu.js kernels for the hot ops — matmul, LoRA matmul (forward and
 * backward), float32 unary ops and broadcasting binary arithmetic (forward and backward)
 * — and the `cpu` backend for every other op.
 *
 * Mode (see ./runtime.ts): 'webgl2' in browsers, 'webasm' (WebAssembly + f32x4 SIMD) in
 * Node or without WebGL2, gpu.js 'cpu' as a noted last resort; `mode` says which one
 * runs and `notes` says why when it is not the one asked for. All calls are synchronous.
 *
 * Storage: tensors of this backend are ordinary host tensors (location 'cpu'). That is
 * what they are: gpu.js takes JS arrays in and hands typed arrays back (webasm copies
 * into and out of its wasm memory per call; webgl2 uploads textures and reads pixels
 * back per call, since pipeline mode is off), so no data stays on a device between ops.
 * A 'gpujs' storage class would only wrap the same Float32Array and force conversions
 * at every op the cpu backend handles. `name` is 'gpujs', which is the backend, not a
 * place where bytes live.
 */
import type { Backend, BinaryOp, LoraOptions, MatmulOptions, UnaryOp } from '../backend.js';
import { Tensor, type DType } from '../tensor.js';
import { broadcastDims, sameDims } from '../shape.js';
import { CpuBackend } from '../cpu/index.js';
import { binaryResultType } from '../cpu/binary.js';
import { f32, toHost } from '../cpu/common.js';
import { GpuJsRuntime, type GpuJsMode, type GpuJsOptions } from './runtime.js';
import { ARITH_OPS, binary, binaryPartial, collapse3 } from './binary.js';
import { loraMatmul, loraMatmulBackward } from './lora.js';
import { matmul } from './matmul.js';
import { unary, unaryBackward } from './unary.js';

export type { GpuJsMode, GpuJsOptions } from './runtime.js';

export class GpuJsBackend implements Backend {
  readonly name = 'gpujs' as const;
  private readonly rt: GpuJsRuntime;
  private readonly cpu = new CpuBackend();

  constructor(opts: GpuJsOptions = {}) {
    this.rt = new GpuJsRuntime(opts);
  }

  /** The gpu.js mode kernels actually run in: 'webgl2', 'webasm' or (noted) 'cpu'. */
  get mode(): GpuJsMode {
    return this.rt.mode;
  }

  /** Why the mode is not the one asked for, and any kernel gpu.js degraded on its own. */
  get notes(): readonly string[] {
    return this.rt.notes;
  }

  /** gpu.js kernels created so far: one per op choice, reused for every shape. */
  get kernelNames(): string[] {
    return this.rt.kernelNames;
  }

  /** Releases gpu.js kernels and contexts. */
  destroy(): void {
    this.rt.destroy();
  }

  upload(t: Tensor): Tensor {
    return toHost(t);
  }
  zeros(dtype: DType, dims: readonly number[]): Tensor {
    return Tensor.zeros(dtype, dims);
  }
  async sync(): Promise<void> {}

  // ── on gpu.js ─────────────────────────────────────────────────
  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
    return matmul(this.rt, a, b, opts);
  }
  loraMatmul(x: Tensor, w: Tensor, a: Tensor, b: Tensor, opts: LoraOptions) {
    return loraMatmul(this.rt, x, w, a, b, opts);
  }
  loraMatmulBackward(x: Tensor, w: Tensor, a: Tensor, b: Tensor, dy: Tensor, opts: LoraOptions) {
    return loraMatmulBackward(this.rt, x, w, a, b, dy, opts);
  }
  unary(op: UnaryOp, x: Tensor): Tensor {
    return op === 'not' ? this.cpu.unary(op, x) : unary(this.rt, op, x);
  }
  unaryBackward(op: UnaryOp, x: Tensor, dy: Tensor): Tensor {
    return op === 'not' ? this.cpu.unaryBackward(op, x, dy) : unaryBackward(this.rt, op, x, dy);
  }

  /** float32 arithmetic on gpu.js; comparisons, logic, int32 and > 3 uncollapsible broadcast axes on cpu. */
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    if (!ARITH_OPS.includes(op) || binaryResultType(op, a, b) !== 'float32') return this.cpu.binary(op, a, b);
    const dims = broadcastDims(a.dims, b.dims, `binary ${op}`);
    const c = collapse3(a.dims, b.dims, dims);
    if (!c) return this.cpu.binary(op, a, b);
    if (c.dims[0] * c.dims[1] * c.dims[2] === 0) return Tensor.zeros('float32', dims);
    return binary(this.rt, op, f32(a, `binary ${op} a`), f32(b, `binary ${op} b`), c, dims);
  }

  /** Per-element partials on gpu.js, then summed to each input's shape on cpu (a reduction). */
  binaryBackward(op: BinaryOp, a: Tensor, b: Tensor, dy: Tensor): { da: Tensor; db: Tensor } {
    const what = `binaryBackward ${op}`;
    if (!ARITH_OPS.includes(op)) return this.cpu.binaryBackward(op, a, b, dy);
    const av = f32(a, `${what} a`);
    const bv = f32(b, `${what} b`);
    const g = f32(dy, `${what} dy`);
    const dims = broadcastDims(a.dims, b.dims, what);
    if (!sameDims(dy.dims, dims)) throw new Error(`${what}: dy is [${dy.dims.join(', ')}], expected [${dims.join(', ')}]`);
    const c = collapse3(a.dims, b.dims, dims);
    if (!c || g.length === 0) return this.cpu.binaryBackward(op, a, b, dy);
    const part = (which: 0 | 1, t: Tensor) => {
      const full = new Tensor('float32', binaryPartial(this.rt, op, which, av, bv, g, c), dims);
      return sameDims(t.dims, dims) ? full : this.cpu.sumToShape(full, t.dims);
    };
    return { da: part(0, a), db: part(1, b) };
  }

  // ── on the cpu backend ────────────────────────────────────────
  where: Backend['where'] = (c, a, b) => this.cpu.where(c, a, b);
  cast: Backend['cast'] = (x, to) => this.cpu.cast(x, to);
  sumToShape: Backend['sumToShape'] = (x, dims) => this.cpu.sumToShape(x, dims);

  reduce: Backend['reduce'] = (op, x, axes, keep) => this.cpu.reduce(op, x, axes, keep);
  reduceBackward: Backend['reduceBackward'] = (op, x, axes, keep, dy) => this.cpu.reduceBackward(op, x, axes, keep, dy);
  softmax: Backend['softmax'] = (x, opts) => this.cpu.softmax(x, opts);
  softmaxBackward: Backend['softmaxBackward'] = (y, dy) => this.cpu.softmaxBackward(y, dy);
  crossEntropy: Backend['crossEntropy'] = (l, y, ig) => this.cpu.crossEntropy(l, y, ig);
  crossEntropyBackward: Backend['crossEntropyBackward'] = (l, y, d, ig) => this.cpu.crossEntropyBackward(l, y, d, ig);

  layerNorm: Backend['layerNorm'] = (x, g, b, eps, res) => this.cpu.layerNorm(x, g, b, eps, res);
  layerNormBackward: Backend['layerNormBackward'] = (x, g, m, s, dy) => this.cpu.layerNormBackward(x, g, m, s, dy);
  rmsNorm: Backend['rmsNorm'] = (x, g, eps, res) => this.cpu.rmsNorm(x, g, eps, res);
  rmsNormBackward: Backend['rmsNormBackward'] = (x, g, s, dy) => this.cpu.rmsNormBackward(x, g, s, dy);

  gather: Backend['gather'] = (d, i, axis) => this.cpu.gather(d, i, axis);
  gatherBackward: Backend['gatherBackward'] = (i, dy, dims, axis) => this.cpu.gatherBackward(i, dy, dims, axis);
  transpose: Backend['transpose'] = (x, perm) => this.cpu.transpose(x, perm);
  concat: Backend['concat'] = (xs, axis) => this.cpu.concat(xs, axis);
  slice: Backend['slice'] = (x, s, e, ax, st) => this.cpu.slice(x, s, e, ax, st);
  sliceBackward: Backend['sliceBackward'] = (dy, dims, s, e, ax, st) => this.cpu.sliceBackward(dy, dims, s, e, ax, st);
  expand: Backend['expand'] = (x, dims) => this.cpu.expand(x, dims);
  reshape: Backend['reshape'] = (x, dims) => this.cpu.reshape(x, dims);

  cumsum: Backend['cumsum'] = (x, axis, ex, rev) => this.cpu.cumsum(x, axis, ex, rev);
  scatterND: Backend['scatterND'] = (d, i, u, red) => this.cpu.scatterND(d, i, u, red);
  dequantize: Backend['dequantize'] = (x, s, z, axis, bs) => this.cpu.dequantize(x, s, z, axis, bs);
  dequantizeBlockwise: Backend['dequantizeBlockwise'] = (b, s, z, n, k, bits, bs) => this.cpu.dequantizeBlockwise(b, s, z, n, k, bits, bs);

  adamw: Backend['adamw'] = (p, g, m, v, opts) => this.cpu.adamw(p, g, m, v, opts);
}
