// binary: y = a ∘ b with numpy broadcasting, VEC outputs per thread. Every input
// is read as 32-bit words and reinterpreted by DT, so one kernel serves float32, int32
// and bool (one u32 0/1 per element on the device).
//
// bindings  @binding(0) uniform U { n, 3 pad, ax: array<vec4<u32>, 8> }: n outputs; per
//           output axis k (outermost first, after the host merged adjacent axes)
//           ax[k] = (dim, stride in a, stride in b, unused), strides in elements, 0 where
//           that input is broadcast
//           @binding(1) a: array<u32>   words of a
//           @binding(2) b: array<u32>   words of b (ignored by `not`)
//           @binding(3) y: array<u32>   (n) f32 / i32 bits for arithmetic, 0/1 for
//                                        comparisons and logic
// overrides OP  0 add, 1 sub, 2 mul, 3 div, 4 pow, 5 max, 6 min, 7 equal, 8 less,
//               9 greater, 10 less_equal, 11 greater_equal, 12 and, 13 or, 14 not
//               (BINARY_OPS in src/tensor/webgpu/binary.ts, then the internal `not`)
//           DT  how words are read: 0 f32, 1 i32 (also bool for `equal`)
//           RANK  merged output rank, 1..8: the index math below unrolls to constant
//                 uniform indices (dynamic indexing of uniform arrays, or a rank branch,
//                 runs 2-3× slower on SwiftShader); dims stay uniforms
//           VEC   outputs per thread, 1 or 4 (4 when the innermost dim is a multiple of
//                 4: one index computation serves four outputs)
//           WG  workgroup size
// dispatch  ceil(n / (WG · VEC)) workgroups, folded over (x, y) past 65535; linear id
//           wid.x + wid.y · nwg.x.

override OP: u32 = 0u;
override DT: u32 = 0u;
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
@group(0) @binding(1) var<storage, read> a: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<u32>;

// A quiet NaN the compiler cannot fold away (it depends on a runtime value).
fn nan_like(v: f32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (bitcast<u32>(v) & 0u));
}

// numpy / ONNX pow: WGSL's pow is undefined for x ≤ 0, so the sign and the zero base
// are handled here. Negative bases need an integral exponent (odd keeps the sign).
fn pow_f32(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, 1.0 / abs(x), e < 0.0); }
  let m = pow(abs(x), e);
  if (x > 0.0) { return m; }
  if (e != trunc(e)) { return nan_like(x); }
  let odd = abs(e) < 16777216.0 && (i32(e) & 1) != 0; // |e| ≥ 2^24 is always even
  return select(m, -m, odd);
}

fn f32_op(x: f32, z: f32) -> u32 {
  if (OP == 0u) { return bitcast<u32>(x + z); }
  if (OP == 1u) { return bitcast<u32>(x - z); }
  if (OP == 2u) { return bitcast<u32>(x * z); }
  if (OP == 3u) { return bitcast<u32>(x / z); }
  if (OP == 4u) { return bitcast<u32>(pow_f32(x, z)); }
  if (OP == 5u) { return bitcast<u32>(max(x, z)); }
  if (OP == 6u) { return bitcast<u32>(min(x, z)); }
  if (OP == 7u) { return u32(x == z); }
  if (OP == 8u) { return u32(x < z); }
  if (OP == 9u) { return u32(x > z); }
  if (OP == 10u) { return u32(x <= z); }
  return u32(x >= z); // 11
}

// WGSL integer arithmetic wraps; i32 division truncates, and x / 0 = x (the cpu
// reference defines the same).
fn i32_op(x: i32, z: i32) -> u32 {
  if (OP == 0u) { return bitcast<u32>(x + z); }
  if (OP == 1u) { return bitcast<u32>(x - z); }
  if (OP == 2u) { return bitcast<u32>(x * z); }
  if (OP == 3u) { return bitcast<u32>(x / z); }
  if (OP == 5u) { return bitcast<u32>(max(x, z)); }
  if (OP == 6u) { return bitcast<u32>(min(x, z)); }
  if (OP == 7u) { return u32(x == z); }
  if (OP == 8u) { return u32(x < z); }
  if (OP == 9u) { return u32(x > z); }
  if (OP == 10u) { return u32(x <= z); }
  return u32(x >= z); // 11 (pow is rejected on the host for int32)
}

fn apply(wa: u32, wb: u32) -> u32 {
  if (OP == 12u) { return u32(wa != 0u && wb != 0u); }
  if (OP == 13u) { return u32(wa != 0u || wb != 0u); }
  if (OP == 14u) { return u32(wa == 0u); }
  if (DT == 0u) { return f32_op(bitcast<f32>(wa), bitcast<f32>(wb)); }
  return i32_op(bitcast<i32>(wa), bitcast<i32>(wb));
}

// One output axis: peel its coordinate off `rem`, return its offsets in every input.
fn take(ax: vec4<u32>, rem: ptr<function, u32>) -> vec3<u32> {
  let c = *rem % ax.x;
  *rem = *rem / ax.x;
  return c * ax.yzw;
}

// Output index i → element offsets in (a, b, -), innermost axis first.
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
  let step = u.ax[RANK - 1u].yzw; // the VEC outputs are neighbours along the innermost axis
  for (var q = 0u; q < VEC; q++) {
    let o = off + q * step;
    y[i + q] = apply(a[o.x], b[o.y]);
  }
}
