/**
 * Central-difference gradient checks for cpu reference backwards (tinygrad's
 * gradcheck idea). The scalar is L = Σ f(inputs) ⊙ w for a fixed random w, so
 * dL/dy = w is what the analytic backward receives.
 */
import { Tensor } from '../../src/tensor/tensor.js';

/** dL/d(inputs[wrt]) by central differences; `f` must be a pure cpu function. */
export function numericGrad(
  f: (xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  wrt: number,
  w: Float32Array,
  eps = 1e-2,
): Float64Array {
  const base = inputs[wrt].hostData<Float32Array>();
  const g = new Float64Array(base.length);
  const loss = (xs: Tensor[]) => {
    const y = f(xs).hostData<Float32Array>();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * w[i];
    return s;
  };
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += eps;
    minus[i] -= eps;
    const xp = inputs.map((t, j) => (j === wrt ? new Tensor('float32', plus, t.dims) : t));
    const xm = inputs.map((t, j) => (j === wrt ? new Tensor('float32', minus, t.dims) : t));
    g[i] = (loss(xp) - loss(xm)) / (2 * eps);
  }
  return g;
}

/** Max |a − n| / (1 + |n|) over elements: a scale-aware error for gradient checks. */
export function gradError(analytic: ArrayLike<number>, numeric: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < numeric.length; i++) {
    worst = Math.max(worst, Math.abs(analytic[i] - numeric[i]) / (1 + Math.abs(numeric[i])));
  }
  return worst;
}
