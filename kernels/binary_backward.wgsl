// binary_backward: full-size (output-shaped) gradients of y = a ∘ b for float32, VEC
// outputs per thread. Inputs are read with broadcast strides exactly as in
// kernels/binary.wgsl; the host then sums each gradient back to its input's shape
// (kernels/sum_to_shape.wgsl) when that input was broadcast.
//
// bindings  @binding(0) uniform U: as kernels/binary.wgsl (n; per axis (dim, stride in a,
//           stride in b, unused))
//           @binding(1) a: array<f32>    words of a
//           @binding(2) b: array<f32>    words of b
//           @binding(3) dy: array<f32>   (n) upstream gradient, output-shaped
//           @binding(4) ga: array<f32>   (n) dy · ∂y/∂a, output-shaped
//           @binding(5) gb: array<f32>   (n) dy · ∂y/∂b, output-shaped
// overrides OP  0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 max, 6 min (as kernels/binary.wgsl)
//           RANK, VEC  as kernels/binary.wgsl
//           WG  workgroup size
// dispatch  ceil(n / (WG · VEC)) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.
//
// PyTorch's conventions: max/min split dy evenly on ties; pow gives ∂/∂a = 0 where
// b = 0, and ∂/∂b = 0 where a = 0 and b ≥ 0, else dy · y · ln(a) (NaN for a < 0).

override OP: u32 = 0u;
override RANK: u32 = 1u;
override VEC: u32 = 1u;
override WG: u32 = 256u;

struct U {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  ax: array<vec4<u32>, 8>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> ga: array<f32>;
@group(0) @binding(5) var<storage, read_write> gb: array<f32>;

fn nan_like(v: f32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (bitcast<u32>(v) & 0u));
}

// Same definition as pow_f32 in kernels/binary.wgsl (numpy semantics for x ≤ 0).
fn pow_f32(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, 1.0 / abs(x), e < 0.0); }
  let m = pow(abs(x), e);
  if (x > 0.0) { return m; }
  if (e != trunc(e)) { return nan_like(x); }
  let odd = abs(e) < 16777216.0 && (i32(e) & 1) != 0;
  return select(m, -m, odd);
}

// (∂y/∂a, ∂y/∂b) · g
fn grads(x: f32, z: f32, g: f32) -> vec2<f32> {
  if (OP == 0u) { return vec2<f32>(g, g); }
  if (OP == 1u) { return vec2<f32>(g, -g); }
  if (OP == 2u) { return vec2<f32>(g * z, g * x); }
  if (OP == 3u) { return vec2<f32>(g / z, -g * x / (z * z)); }
  if (OP == 4u) {
    let da = select(g * z * pow_f32(x, z - 1.0), 0.0, z == 0.0);
    // log(x < 0) is indeterminate in WGSL; PyTorch gives NaN there.
    let lnx = select(log(x), nan_like(x), x < 0.0);
    let db = select(g * pow_f32(x, z) * lnx, 0.0, x == 0.0 && z >= 0.0);
    return vec2<f32>(da, db);
  }
  let tie = 0.5 * g;
  if (OP == 5u) {
    if (x == z) { return vec2<f32>(tie, tie); }
    return select(vec2<f32>(0.0, g), vec2<f32>(g, 0.0), x > z);
  }
  if (x == z) { return vec2<f32>(tie, tie); } // 6: min
  return select(vec2<f32>(0.0, g), vec2<f32>(g, 0.0), x < z);
}

fn take(ax: vec4<u32>, rem: ptr<function, u32>) -> vec3<u32> {
  let c = *rem % ax.x;
  *rem = *rem / ax.x;
  return c * ax.yzw;
}

// Output index i → element offsets in (a, b, -), as kernels/binary.wgsl.
fn offsets(i: u32) -> vec3<u32> {
  var rem = i;
  var off = vec3<u32>(0u);
  if (RANK > 7u) { off += take(u.ax[7], &rem); }
  if (RANK > 6u) { off += take(u.ax[6], &rem); }
  if (RANK > 5u) { off += take(u.ax[5], &rem); }
  if (RANK > 4u) { off += take(u.ax[4], &rem); }
  if (RANK > 3u) { off += take(u.ax[3], &rem); }
  if (RANK > 2u) { off += take(u.ax[2], &rem); }
  if (RANK > 1u) { off += take(u.ax[1], &rem); }
  return off + rem * u.ax[0].yzw;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = ((wid.y * nwg.x + wid.x) * WG + lid.x) * VEC;
  if (i >= u.n) { return; }
  let off = offsets(i);
  let step = u.ax[RANK - 1u].yzw;
  for (var q = 0u; q < VEC; q++) {
    let o = off + q * step;
    let g = grads(a[o.x], b[o.y], dy[i + q]);
    ga[i + q] = g.x;
    gb[i + q] = g.y;
  }
}
