// lora_matmul: the fused LoRA GEMM, out = x·op(W) (+ bias) + hq, where hq = h·op(Q) is
// the low-rank term with h (M, r) precomputed by kernels/lora_thin.wgsl (already scaled
// by s) and r ≤ 64:
//
//   forward   y  = x·W + bias + (s·h)·Bᵀ        x (M, K), W (K, N) or (N, K), Q = B (N, r)
//   backward  dx = dy·Wᵀ + ((s·g)·A) ⊙ mask/(1−p)  x = dy (M, N), W read transposed,
//                                                Q = A (r, K), DROP_OUT
//
// Register-blocked tiling as kernels/matmul.wgsl: each workgroup makes a (4·WY, 4·WX)
// output tile, each thread a 4×4 block of it, the depth loop stages TK-deep slices in
// workgroup memory. The low-rank term is r more depth steps of the same loop over
// [h | op(Q)] after the K steps over [x | op(W)]: r FMAs per output, W + s·Bᵀ·Aᵀ is never
// formed, and the frozen-weight part costs what a plain matmul does.
//
// bindings  @binding(0) uniform U (below)
//           @binding(1) x: array<vec4<f32>>   (M, K) row-major; element e at x[e / 4][e % 4]
//           @binding(2) w: array<vec4<f32>>   op(W) is (K, N): stored (K, N), or (N, K) with TRANS_W
//           @binding(3) h: array<vec4<f32>>   (M, r) row-major
//           @binding(4) q: array<vec4<f32>>   op(Q) is (r, N): stored (r, N), or (N, r) with TRANS_Q
//           @binding(5) bias: array<f32>      (N); any buffer when has_bias = 0
//           @binding(6) out: array<f32>       (M, N) row-major
//           The vec4 bindings serve whole-vec4 loads and scalar reads of odd sizes alike
//           (pooled buffers are multiples of 16 bytes).
// uniform   M, N, K, r, has_bias; key, threshold, drop_scale: the dropout mask of
//           src/tensor/dropout.ts over out's elements (DROP_OUT only).
// overrides WX, WY   threads along N and M (tile 4·WY rows × 4·WX cols)
//           TK       depth of one staged slice, a multiple of 4
//           TRANS_W, TRANS_Q  the stored layouts above
//           VEC_X  K % 4 == 0         VEC_W  W's stored row length (N, or K with TRANS_W) % 4 == 0
//           VEC_Q  Q is stored (r, N) and N % 4 == 0. Rows of length r (h, and Q with
//                  TRANS_Q) are always read by element: no pipeline depends on r, so
//                  swapping in an adapter of another rank compiles nothing here.
//           DROP_OUT  the low-rank term of out[e] is kept (· drop_scale) or dropped by e's
//                  mask. The backward always sets it; without dropout the launcher passes
//                  threshold 0 (all kept) and drop_scale 1, so train / eval compiles nothing.
// dispatch  (ceil(N / (4·WX)), ceil(M / (4·WY)), 1)

override WX: u32 = 16u;
override WY: u32 = 16u;
override TK: u32 = 16u;
override TRANS_W: bool = false;
override TRANS_Q: bool = false;
override VEC_X: bool = false;
override VEC_W: bool = false;
override VEC_Q: bool = false;
override DROP_OUT: bool = false;

struct U {
  M: u32, N: u32, K: u32, r: u32,
  has_bias: u32, key: u32, threshold: u32, drop_scale: f32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> h: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

// As[k · WY + i]: tile rows 4i..4i+3 at depth k. Bs[k · WX + j]: cols 4j..4j+3.
var<workgroup> As: array<vec4<f32>, TK * WY>;
var<workgroup> Bs: array<vec4<f32>, TK * WX>;

// Operands by number, so one reader serves all four buffers.
const X = 0u;
const W = 1u;
const H = 2u;
const Q = 3u;

// Mirror of lowbias32 in src/tensor/dropout.ts (also in kernels/lora_thin.wgsl).
fn lowbias32(v: u32) -> u32 {
  var y = v;
  y ^= y >> 16u;
  y *= 0x7feb352du;
  y ^= y >> 15u;
  y *= 0x846ca68bu;
  y ^= y >> 16u;
  return y;
}

// `which` is a constant at every call site; an if chain (not a switch) lets SwiftShader
// fold it away (measured: a switch made the K loop ~10% slower there).
fn load_vec(which: u32, i: u32) -> vec4<f32> {
  if (which == 0u) { return x[i]; }
  if (which == 1u) { return w[i]; }
  if (which == 2u) { return h[i]; }
  return q[i];
}

// Elements (row, c..c+3) of a row-major (rows, cols) operand; 0 outside.
fn fetch4(which: u32, vec: bool, row: u32, c: u32, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (row >= rows) { return v; }
  let e = row * cols + c;
  if (vec) {
    // cols % 4 == 0 and c % 4 == 0: the vec4 is wholly inside or wholly outside.
    if (c < cols) { v = load_vec(which, e / 4u); }
    return v;
  }
  for (var j = 0u; j < 4u; j++) {
    if (c + j < cols) { v[j] = load_vec(which, (e + j) / 4u)[(e + j) % 4u]; }
  }
  return v;
}

// Stages the left operand (x or h, stored (M, depth)), rows m0.. at depths k0.., into As.
fn load_a(which: u32, vec: bool, m0: u32, k0: u32, depth: u32, t: u32) {
  for (var i = t; i < WY * TK; i += WX * WY) {
    // A vec4 runs along depth; scatter its 4 values to 4 depths.
    let row = i / (TK / 4u);
    let kq = i % (TK / 4u);
    let v = fetch4(which, vec, m0 + row, k0 + 4u * kq, u.M, depth);
    for (var j = 0u; j < 4u; j++) { As[(4u * kq + j) * WY + row / 4u][row % 4u] = v[j]; }
  }
}

// Stages the right operand (W or Q, logically (depth, N)), depths k0.. × cols n0.., into Bs.
fn load_b(which: u32, vec: bool, trans: bool, k0: u32, n0: u32, depth: u32, t: u32) {
  for (var i = t; i < WX * TK; i += WX * WY) {
    if (trans) {
      // Stored (N, depth): a vec4 runs along depth; scatter.
      let col = i / (TK / 4u);
      let kq = i % (TK / 4u);
      let v = fetch4(which, vec, n0 + col, k0 + 4u * kq, u.N, depth);
      for (var j = 0u; j < 4u; j++) { Bs[(4u * kq + j) * WX + col / 4u][col % 4u] = v[j]; }
    } else {
      let kk = i / WX;
      let nq = i % WX;
      Bs[kk * WX + nq] = fetch4(which, vec, k0 + kk, n0 + 4u * nq, depth, u.N);
    }
  }
}

// acc += As · Bs over one staged slice: 2 vec4 loads per 16 FMAs.
fn mac(acc: ptr<function, array<vec4<f32>, 4>>, lx: u32, ly: u32) {
  for (var kk = 0u; kk < TK; kk++) {
    let av = As[kk * WY + ly];
    let bv = Bs[kk * WX + lx];
    (*acc)[0] = fma(vec4<f32>(av.x), bv, (*acc)[0]);
    (*acc)[1] = fma(vec4<f32>(av.y), bv, (*acc)[1]);
    (*acc)[2] = fma(vec4<f32>(av.z), bv, (*acc)[2]);
    (*acc)[3] = fma(vec4<f32>(av.w), bv, (*acc)[3]);
  }
}

@compute @workgroup_size(WX, WY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m0 = wid.y * 4u * WY;
  let n0 = wid.x * 4u * WX;
  let t = lid.y * WX + lid.x;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < u.K; k0 += TK) {
    load_a(X, VEC_X, m0, k0, u.K, t);
    load_b(W, VEC_W, TRANS_W, k0, n0, u.K, t);
    workgroupBarrier();
    mac(&acc, lid.x, lid.y);
    workgroupBarrier();
  }
  // The low-rank term: into the same accumulators, or apart when it is masked.
  var base: array<vec4<f32>, 4>;
  if (DROP_OUT) {
    base = acc;
    acc = array<vec4<f32>, 4>();
  }
  for (var k0 = 0u; k0 < u.r; k0 += TK) {
    load_a(H, false, m0, k0, u.r, t);
    load_b(Q, VEC_Q, TRANS_Q, k0, n0, u.r, t);
    workgroupBarrier();
    mac(&acc, lid.x, lid.y);
    workgroupBarrier();
  }

  let n = n0 + 4u * lid.x;
  var add = vec4<f32>(0.0);
  if (u.has_bias != 0u) {
    for (var j = 0u; j < 4u; j++) {
      if (n + j < u.N) { add[j] = bias[n + j]; }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + 4u * lid.y + i;
    if (m >= u.M) { break; }
    var v = acc[i] + add;
    for (var j = 0u; j < 4u; j++) {
      let e = m * u.N + n + j;
      if (n + j < u.N) {
        if (DROP_OUT) {
          let kept = lowbias32(u.key ^ e) >= u.threshold;
          v[j] = base[i][j] + add[j] + select(0.0, acc[i][j] * u.drop_scale, kept);
        }
        out[e] = v[j];
      }
    }
  }
}
