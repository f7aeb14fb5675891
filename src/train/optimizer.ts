/**
 * AdamW over named parameter tensors, as torch.optim.AdamW (amsgrad off) computes it:
 * decoupled weight decay, bias-corrected moments, per-parameter state. The update is the
 * backend's in-place `adamw` kernel (a WGSL kernel on webgpu), so parameters, moments and
 * gradients stay on the device; only `state()` reads back.
 *
 * Defaults are transformers' Trainer defaults (lr 5e-5, betas (0.9, 0.999), eps 1e-8,
 * weight_decay 0.0), not torch's (lr 1e-3, weight_decay 0.01).
 *
 * Like torch, a parameter whose gradient is missing from a step is skipped entirely (no
 * decay, no moment update) and its own step count stays behind; the moments are created
 * at a parameter's first update.
 */
import type { Backend } from '../tensor/backend.js';
import { fmtDims, sameDims } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

export interface AdamWConfig {
  /** Default learning rate; `step(grads, lr)` overrides it per step (a schedule). */
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export const ADAMW_DEFAULTS = { lr: 5e-5, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0 };

/** One parameter's state on the host: torch's `step`, `exp_avg`, `exp_avg_sq`. */
export interface AdamWParamState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** By parameter name; parameters never updated have no entry (as torch's lazy state). */
export type AdamWState = Record<string, AdamWParamState>;

interface Slot {
  step: number;
  m: Tensor;
  v: Tensor;
}

export class AdamW {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly slots = new Map<string, Slot>();

  /**
   * `params` are updated in place, so they must live on `backend` (on webgpu, device
   * tensors; `TrainableModel.adapterTensors()` gives views of the live adapter that qualify).
   */
  constructor(
    readonly backend: Backend,
    readonly params: Readonly<Record<string, Tensor>>,
    config: AdamWConfig = {},
  ) {
    this.lr = config.lr ?? ADAMW_DEFAULTS.lr;
    [this.beta1, this.beta2] = config.betas ?? ADAMW_DEFAULTS.betas;
    this.eps = config.eps ?? ADAMW_DEFAULTS.eps;
    this.weightDecay = config.weightDecay ?? ADAMW_DEFAULTS.weightDecay;
    for (const [name, p] of Object.entries(params)) {
      if (p.dtype !== 'float32') throw new Error(`AdamW: parameter '${name}' must be float32, got ${p.dtype} ${fmtDims(p.dims)}`);
      if (p.location !== backend.name) {
        throw new Error(`AdamW: parameter '${name}' lives on ${p.location} but the backend is ${backend.name}; it is updated in place, so upload it first`);
      }
    }
  }

  /**
   * One update of every parameter that has a gradient in `grads` (by name; gradients are
   * only read). `lr` is this step's learning rate (default: the configured one).
   */
  step(grads: Readonly<Record<string, Tensor>>, lr = this.lr): void {
    for (const name of Object.keys(grads)) {
      if (!(name in this.params)) throw new Error(`AdamW: gradient '${name}' has no parameter; parameters are named like '${Object.keys(this.params)[0]}'`);
    }
    for (const [name, p] of Object.entries(this.params)) {
      const g = grads[name];
      if (!g) continue;
      if (!sameDims(g.dims, p.dims)) throw new Error(`AdamW: gradient '${name}' is ${fmtDims(g.dims)}, its parameter ${fmtDims(p.dims)}`);
      const s = this.slot(name, p);
      this.backend.adamw(p, g, s.m, s.v, {
        lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: this.weightDecay, step: s.step + 1,
      });
      s.step++;
    }
  }

  /** Host copies of every parameter's state (for checkpoints). */
  async state(): Promise<AdamWState> {
    const out: AdamWState = {};
    for (const [name, s] of this.slots) {
      // `data()` of a cpu tensor is its live array, which the next step overwrites: copy.
      out[name] = { step: s.step, m: Float32Array.from(await s.m.data<Float32Array>()), v: Float32Array.from(await s.v.data<Float32Array>()) };
    }
    return out;
  }

  /** Replaces the whole state (names absent from `state` start fresh); checks names and sizes first. */
  loadState(state: Readonly<AdamWState>): void {
    for (const [name, s] of Object.entries(state)) {
      const p = this.params[name];
      if (!p) throw new Error(`AdamW.loadState: state for '${name}', which is not a parameter`);
      if (s.m.length !== p.size || s.v.length !== p.size) {
        throw new Error(`AdamW.loadState: '${name}' has ${p.size} elements, its state ${s.m.length} (m) and ${s.v.length} (v)`);
      }
      if (!Number.isInteger(s.step) || s.step < 0) throw new Error(`AdamW.loadState: '${name}' step must be an integer ≥ 0, got ${s.step}`);
    }
    this.disposeSlots();
    for (const [name, s] of Object.entries(state)) {
      const dims = this.params[name].dims;
      this.slots.set(name, {
        step: s.step,
        m: this.backend.upload(new Tensor('float32', Float32Array.from(s.m), dims)),
        v: this.backend.upload(new Tensor('float32', Float32Array.from(s.v), dims)),
      });
    }
  }

  /** Frees the moments (the parameters belong to the caller). */
  dispose(): void {
    this.disposeSlots();
  }

  private slot(name: string, p: Tensor): Slot {
    let s = this.slots.get(name);
    if (!s) {
      s = { step: 0, m: this.backend.zeros('float32', p.dims), v: this.backend.zeros('float32', p.dims) };
      this.slots.set(name, s);
    }
    return s;
  }

  private disposeSlots(): void {
    for (const s of this.slots.values()) (s.m.dispose(), s.v.dispose());
    this.slots.clear();
  }
}
