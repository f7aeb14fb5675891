// matmul_gemv: the same product as kernels/matmul.wgsl (out = alpha · op(a) · op(b) + bias,
// batched) for M ≤ 4 rows, where a 64-row tile would leave most threads idle and the
// cost is reading b once. Each workgroup splits K over its threads and reduces the
// partial sums in workgroup memory; all M rows share every b load.
//
// entries   `kn`  b stored (K, N): lid.x owns 4 adjacent columns (a vec4 of a b row),
//                 lid.y a K slice (k ≡ lid.y mod SY); partials reduced over lid.y.
//           `nk`  b stored (N, K) (TRANS_B): lid.y owns one output column n, lid.x walks
//                 that b row in vec4 chunks (k4 ≡ lid.x mod SX); reduced over lid.x.
// bindings  as kernels/matmul.wgsl: @binding(0) uniform U, (1) a, (2) b as
//           array<vec4<f32>> (element e at [e / 4][e % 4]), (3) out (batch, M, N),
//           (4) bias (N) or (1) with bias_stride 0.
// overrides SX, SY   workgroup shape (x fastest-varying), powers of two (tree reduction)
//           MR       rows computed: 1, 2 or 4 (≥ M; rows ≥ M read zeros, are not stored)
//           TRANS_A  a is stored (K, M)
//           VEC_A    (nk only) a rows are read as vec4 along K: !TRANS_A and K % 4 == 0
//           VEC_B    b's contiguous dim (N for kn, K for nk) is a multiple of 4
// dispatch  kn: (ceil(N / (4·SX)), 1, batches); nk: (ceil(N / SY), 1, batches).
//           Batch offsets as in kernels/matmul.wgsl (z = wid.z + z_base over d0..d3).

override SX: u32 = 8u;
override SY: u32 = 32u;
override MR: u32 = 4u;
override TRANS_A: bool = false;
override VEC_A: bool = false;
override VEC_B: bool = false;

struct U {
  M: u32, N: u32, K: u32, has_bias: u32,
  alpha: f32, z_base: u32, bias_stride: u32, _pad: u32,
  d1: u32, d2: u32, d3: u32, _pad2: u32,
  sa: vec4<u32>,
  sb: vec4<u32>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// One partial per thread (kn: a vec4 of 4 columns for the row being reduced; nk: one
// lane per row).
var<workgroup> red: array<vec4<f32>, SX * SY>;

// As in kernels/matmul.wgsl: constant indices into private vectors, one exit per function.

fn a_or0(e: u32, ok: bool) -> f32 {
  var v = 0.0;
  if (ok) { v = a[e / 4u][e % 4u]; }
  return v;
}

fn b_or0(e: u32, ok: bool) -> f32 {
  var v = 0.0;
  if (ok) { v = b[e / 4u][e % 4u]; }
  return v;
}

// Element offsets of this batch's a and b.
fn batch_bases(z: u32) -> vec2<u32> {
  let idx = vec4<u32>(z / (u.d3 * u.d2 * u.d1), (z / (u.d3 * u.d2)) % u.d1, (z / u.d3) % u.d2, z % u.d3);
  return vec2<u32>(dot(idx, u.sa), dot(idx, u.sb));
}

// a(m, k) of the logical (M, K) matrix; 0 outside.
fn a_elem(base: u32, m: u32, k: u32) -> f32 {
  var e = base + m * u.K + k;
  if (TRANS_A) { e = base + k * u.M + m; }
  return a_or0(e, m < u.M && k < u.K);
}

// a(m, k..k+3).
fn a_row4(base: u32, m: u32, k: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (VEC_A) {
    if (m < u.M) { v = a[(base + m * u.K + k) / 4u]; }
  } else {
    v = vec4<f32>(a_elem(base, m, k), a_elem(base, m, k + 1u), a_elem(base, m, k + 2u), a_elem(base, m, k + 3u));
  }
  return v;
}

fn bias_or0(n: u32) -> f32 {
  var v = 0.0;
  if (u.has_bias != 0u) { v = bias[n * u.bias_stride]; }
  return v;
}

fn store(z: u32, m: u32, n: u32, v: f32) {
  if (m < u.M && n < u.N) { out[(z * u.M + m) * u.N + n] = u.alpha * v + bias_or0(n); }
}

// Sums red[] over the axis of length `len` (stride `step`) into the entries where that
// index is 0. Called by every thread: barriers inside.
fn reduce(t: u32, pos: u32, len: u32, step: u32) {
  for (var s = len / 2u; s > 0u; s /= 2u) {
    workgroupBarrier();
    if (pos < s) { red[t] += red[t + s * step]; }
  }
  workgroupBarrier();
}

// kn: reduces one row's column-quad partials over lid.y and stores them.
fn finish_kn(t: u32, ly: u32, z: u32, m: u32, n: u32, acc: vec4<f32>) {
  red[t] = acc;
  reduce(t, ly, SY, SX);
  if (ly == 0u) {
    let v = red[t];
    store(z, m, n, v.x);
    store(z, m, n + 1u, v.y);
    store(z, m, n + 2u, v.z);
    store(z, m, n + 3u, v.w);
  }
  workgroupBarrier(); // red[] is rewritten for the next row
}

@compute @workgroup_size(SX, SY, 1)
fn kn(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z + u.z_base;
  let base = batch_bases(z);
  let n = (wid.x * SX + lid.x) * 4u;
  // Rows 0..MR-1; rows ≥ M read zeros and are not stored.
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = lid.y; k < u.K; k += SY) {
    let e = base.y + k * u.N + n;
    var bv = vec4<f32>(0.0);
    if (VEC_B) {
      if (n < u.N) { bv = b[e / 4u]; }
    } else {
      bv = vec4<f32>(b_or0(e, n < u.N), b_or0(e + 1u, n + 1u < u.N), b_or0(e + 2u, n + 2u < u.N), b_or0(e + 3u, n + 3u < u.N));
    }
    acc0 = fma(vec4<f32>(a_elem(base.x, 0u, k)), bv, acc0);
    if (MR > 1u) { acc1 = fma(vec4<f32>(a_elem(base.x, 1u, k)), bv, acc1); }
    if (MR > 2u) { acc2 = fma(vec4<f32>(a_elem(base.x, 2u, k)), bv, acc2); }
    if (MR > 3u) { acc3 = fma(vec4<f32>(a_elem(base.x, 3u, k)), bv, acc3); }
  }
  let t = lid.y * SX + lid.x;
  finish_kn(t, lid.y, z, 0u, n, acc0);
  if (MR > 1u) { finish_kn(t, lid.y, z, 1u, n, acc1); }
  if (MR > 2u) { finish_kn(t, lid.y, z, 2u, n, acc2); }
  if (MR > 3u) { finish_kn(t, lid.y, z, 3u, n, acc3); }
}

@compute @workgroup_size(SX, SY, 1)
fn nk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z + u.z_base;
  let base = batch_bases(z);
  let n = wid.x * SY + lid.y;
  var acc = vec4<f32>(0.0); // lane i: row i
  for (var k = lid.x * 4u; k < u.K; k += SX * 4u) {
    let e = base.y + n * u.K + k;
    var bv = vec4<f32>(0.0);
    if (VEC_B) {
      if (n < u.N) { bv = b[e / 4u]; }
    } else {
      let ok = n < u.N;
      bv = vec4<f32>(b_or0(e, ok && k < u.K), b_or0(e + 1u, ok && k + 1u < u.K), b_or0(e + 2u, ok && k + 2u < u.K), b_or0(e + 3u, ok && k + 3u < u.K));
    }
    acc.x += dot(a_row4(base.x, 0u, k), bv);
    if (MR > 1u) { acc.y += dot(a_row4(base.x, 1u, k), bv); }
    if (MR > 2u) { acc.z += dot(a_row4(base.x, 2u, k), bv); }
    if (MR > 3u) { acc.w += dot(a_row4(base.x, 3u, k), bv); }
  }
  let t = lid.y * SX + lid.x;
  red[t] = acc;
  reduce(t, lid.x, SX, 1u);
  if (lid.x == 0u) {
    let v = red[t];
    store(z, 0u, n, v.x);
    store(z, 1u, n, v.y);
    store(z, 2u, n, v.z);
    store(z, 3u, n, v.w);
  }
}
