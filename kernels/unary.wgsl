// unary: y[i] = f(x[i]) (entry `main`) and its backward dx[i] = dy[i] · f'(x[i])
// (entry `backward`) for float32, one thread per element. Both entries live in one file
// so the forward and the derivative share the erf / tanh / sin-cos approximations.
// Bool `not` is not here: it runs on the logic path of kernels/binary.wgsl.
//
// bindings  @binding(0) uniform U { n: u32 }   element count
//           @binding(1) x: array<f32>           (n) forward input
//           @binding(2) y: array<f32>           (n) output: y (main) or dx (backward)
//           @binding(3) dy: array<f32>          (n) upstream gradient (backward only)
// overrides OP  which f (the order of UNARY_OPS in src/tensor/webgpu/elementwise.ts)
//           WG  workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y) past 65535; the workgroup id is
//           linearized as wid.x + wid.y · nwg.x.

override OP: u32 = 0u;
override WG: u32 = 256u;

struct U { n: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_KAPPA: f32 = 0.044715;
const INV_SQRT_2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const TWO_OVER_SQRT_PI: f32 = 1.1283791670955126;

// Abramowitz–Stegun 7.1.26 has 1.5e-7 absolute error; WGSL has no erf builtin.
fn erf_approx(v: f32) -> f32 {
  let s = sign(v);
  let a = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let p = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1.0 - p * exp(-a * a));
}

// tanh through exp overflows for |v| > 44; clamp first (tanh(±15) is ±1 in f32).
fn tanh_safe(v: f32) -> f32 {
  return tanh(clamp(v, -15.0, 15.0));
}

// WGSL only promises 2^-11 absolute error for sin/cos (SwiftShader shows 2e-4), too
// coarse for rotary angles. Reduce to r in [-π/4, π/4] plus a quadrant, then Taylor
// polynomials (|err| < 4e-8 on that interval); the two-part 2π keeps reduction exact-ish.
fn sincos_poly(v: f32) -> vec2<f32> {
  let q = round(v * 0.6366197723675814); // v / (π/2)
  let r = (v - q * 1.5707963705062866) + q * 4.371139000186243e-8;
  let r2 = r * r;
  let s = r * (1.0 + r2 * (-0.16666666666 + r2 * (0.008333333333 + r2 * (-0.000198412698 + r2 * 2.7557319e-6))));
  let c = 1.0 + r2 * (-0.5 + r2 * (0.041666666666 + r2 * (-0.001388888889 + r2 * 2.48015873e-5)));
  let k = i32(q - 4.0 * floor(q * 0.25)); // quadrant 0..3
  if (k == 0) { return vec2<f32>(s, c); }
  if (k == 1) { return vec2<f32>(c, -s); }
  if (k == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

fn apply(v: f32) -> f32 {
  if (OP == 0u) { return -v; }
  if (OP == 1u) { return abs(v); }
  if (OP == 2u) { return sqrt(v); }
  if (OP == 3u) { return exp(v); }
  if (OP == 4u) { return log(v); }
  if (OP == 5u) { return tanh_safe(v); }
  if (OP == 6u) { return erf_approx(v); }
  if (OP == 7u) { return sigmoid(v); }
  if (OP == 8u) { return max(v, 0.0); }
  if (OP == 9u) { return 0.5 * v * (1.0 + erf_approx(v * INV_SQRT_2)); }
  if (OP == 10u) { return 0.5 * v * (1.0 + tanh_safe(SQRT_2_OVER_PI * (v + GELU_KAPPA * v * v * v))); }
  if (OP == 11u) { return v * sigmoid(v); }
  if (OP == 12u) { return 1.0 / v; }
  if (OP == 13u) { return sincos_poly(v).y; }
  return sincos_poly(v).x; // 14: sin
}

// f'(v), with PyTorch's choices at kinks: relu'(0) = 0, abs'(0) = sign(0) = 0.
fn deriv(v: f32) -> f32 {
  if (OP == 0u) { return -1.0; }
  if (OP == 1u) { return sign(v); }
  if (OP == 2u) { return 0.5 / sqrt(v); }
  if (OP == 3u) { return exp(v); }
  if (OP == 4u) { return 1.0 / v; }
  if (OP == 5u) { let t = tanh_safe(v); return 1.0 - t * t; }
  if (OP == 6u) { return TWO_OVER_SQRT_PI * exp(-v * v); }
  if (OP == 7u) { let s = sigmoid(v); return s * (1.0 - s); }
  if (OP == 8u) { return select(0.0, 1.0, v > 0.0); }
  if (OP == 9u) { return 0.5 * (1.0 + erf_approx(v * INV_SQRT_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v); }
  if (OP == 10u) {
    // PyTorch's GeluBackward (tanh): 0.5·(1 + t) + 0.5·v·(1 − t²)·√(2/π)·(1 + 3κv²).
    let t = tanh_safe(SQRT_2_OVER_PI * (v + GELU_KAPPA * v * v * v));
    return 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_KAPPA * v * v);
  }
  if (OP == 11u) { let s = sigmoid(v); return s * (1.0 + v * (1.0 - s)); }
  if (OP == 12u) { return -1.0 / (v * v); }
  if (OP == 13u) { return -sincos_poly(v).x; }
  return sincos_poly(v).y; // 14: sin' = cos
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  y[i] = apply(x[i]);
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
            @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  y[i] = dy[i] * deriv(x[i]);
}
