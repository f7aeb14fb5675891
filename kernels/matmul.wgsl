// matmul: out = alpha · op(a) · op(b) + bias for a batch of float32 matrices, where
// op(a) is a (M, K) matrix stored (M, K), or (K, M) with TRANS_A, and op(b) is (K, N)
// stored (K, N), or (N, K) with TRANS_B. Register-blocked tiling: each workgroup makes a
// (4·WY, 4·WX) output tile, each thread a 4×4 block of it; the K loop stages TK-deep
// slices of a and b in workgroup memory.
//
// bindings  @binding(0) uniform U (below)
//           @binding(1) a: array<vec4<f32>>   batch of a matrices, element e at a[e / 4][e % 4]
//           @binding(2) b: array<vec4<f32>>   batch of b matrices, likewise
//           @binding(3) out: array<f32>       (batch, M, N) row-major
//           @binding(4) bias: array<f32>      (N), or (1) with bias_stride 0; any buffer when has_bias = 0
//           a and b are bound as vec4 arrays so that one binding serves both the vec4 path
//           and scalar reads of odd sizes; every pooled buffer is a multiple of 16 bytes,
//           so element e < n always lies inside the vec4 array.
// overrides WX, WY   threads along N and along M (the tile is 4·WY rows × 4·WX cols)
//           TK       K depth of one staged slice, a multiple of 4 (the staging loops
//                    stride by the thread count, so any WX, WY fit)
//           TRANS_A  a is stored (K, M)      TRANS_B  b is stored (N, K)
//           VEC_A    a's contiguous dim (K, or M with TRANS_A) is a multiple of 4: whole
//                    vec4 loads. VEC_B likewise for b (N, or K with TRANS_B).
// dispatch  (ceil(N / (4·WX)), ceil(M / (4·WY)), batches in this launch). Batch index
//           z = wid.z + z_base splits as ((i0·d1 + i1)·d2 + i2)·d3 + i3 over the merged
//           broadcast batch dims; a's offset is Σ i·sa, b's is Σ i·sb (elements), out's z·M·N.
// tiles     Workgroup-memory tiles are k-major with 4 rows (cols) per vec4, so the inner
//           loop does 2 vec4 loads per 16 FMAs. Where a stored vec4 runs along k (a without
//           TRANS_A, b with TRANS_B) a thread stages a 4×4 block and stores it transposed.

override WX: u32 = 16u;
override WY: u32 = 16u;
override TK: u32 = 16u;
override TRANS_A: bool = false;
override TRANS_B: bool = false;
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

// As[k · WY + r]: rows 4r..4r+3 of the tile at depth k. Bs[k · WX + c]: cols 4c..4c+3.
var<workgroup> As: array<vec4<f32>, TK * WY>;
var<workgroup> Bs: array<vec4<f32>, TK * WX>;

// Private arrays and vectors are only indexed by constants (4 named accumulators,
// .x/.y/.z/.w), and functions have one exit: compilers that do not unroll or that mask
// divergent returns per lane (SwiftShader) run that markedly slower.

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

// Elements (r, c..c+3) of a row-major (rows, cols) matrix at element `base`; 0 outside.
fn read_a4(base: u32, r: u32, c: u32, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let e = base + r * cols + c;
  if (r < rows) {
    if (VEC_A) {
      // cols % 4 == 0 and c % 4 == 0: the vec4 is wholly inside or wholly outside.
      if (c < cols) { v = a[e / 4u]; }
    } else {
      v = vec4<f32>(a_or0(e, c < cols), a_or0(e + 1u, c + 1u < cols), a_or0(e + 2u, c + 2u < cols), a_or0(e + 3u, c + 3u < cols));
    }
  }
  return v;
}

fn read_b4(base: u32, r: u32, c: u32, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  let e = base + r * cols + c;
  if (r < rows) {
    if (VEC_B) {
      if (c < cols) { v = b[e / 4u]; }
    } else {
      v = vec4<f32>(b_or0(e, c < cols), b_or0(e + 1u, c + 1u < cols), b_or0(e + 2u, c + 2u < cols), b_or0(e + 3u, c + 3u < cols));
    }
  }
  return v;
}

// Stages a's (4·WY) × TK slice at (m0, k0) into As.
fn load_a(base: u32, m0: u32, k0: u32, t: u32) {
  if (TRANS_A) {
    // Stored (K, M): a vec4 runs along m, which is As's vec4 axis.
    for (var i = t; i < WY * TK; i += WX * WY) {
      let kk = i / WY;
      let mq = i % WY;
      As[kk * WY + mq] = read_a4(base, k0 + kk, m0 + 4u * mq, u.K, u.M);
    }
  } else {
    // Stored (M, K): vec4s run along k. Each thread reads a 4×4 block (4 rows, 4 depths)
    // and stores it transposed as 4 whole vec4s.
    for (var i = t; i < WY * TK / 4u; i += WX * WY) {
      let mq = i / (TK / 4u);
      let k = k0 + 4u * (i % (TK / 4u));
      let m = m0 + 4u * mq;
      let r0 = read_a4(base, m, k, u.M, u.K);
      let r1 = read_a4(base, m + 1u, k, u.M, u.K);
      let r2 = read_a4(base, m + 2u, k, u.M, u.K);
      let r3 = read_a4(base, m + 3u, k, u.M, u.K);
      let s = (k - k0) * WY + mq;
      As[s] = vec4<f32>(r0.x, r1.x, r2.x, r3.x);
      As[s + WY] = vec4<f32>(r0.y, r1.y, r2.y, r3.y);
      As[s + 2u * WY] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);
      As[s + 3u * WY] = vec4<f32>(r0.w, r1.w, r2.w, r3.w);
    }
  }
}

// Stages b's TK × (4·WX) slice at (k0, n0) into Bs.
fn load_b(base: u32, k0: u32, n0: u32, t: u32) {
  if (TRANS_B) {
    // Stored (N, K): 4×4 blocks transposed, as a without TRANS_A.
    for (var i = t; i < WX * TK / 4u; i += WX * WY) {
      let nq = i / (TK / 4u);
      let k = k0 + 4u * (i % (TK / 4u));
      let n = n0 + 4u * nq;
      let c0 = read_b4(base, n, k, u.N, u.K);
      let c1 = read_b4(base, n + 1u, k, u.N, u.K);
      let c2 = read_b4(base, n + 2u, k, u.N, u.K);
      let c3 = read_b4(base, n + 3u, k, u.N, u.K);
      let s = (k - k0) * WX + nq;
      Bs[s] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
      Bs[s + WX] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
      Bs[s + 2u * WX] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
      Bs[s + 3u * WX] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
    }
  } else {
    for (var i = t; i < WX * TK; i += WX * WY) {
      let kk = i / WX;
      let nq = i % WX;
      Bs[kk * WX + nq] = read_b4(base, k0 + kk, n0 + 4u * nq, u.K, u.N);
    }
  }
}

// Row m of the output: alpha · acc + bias, columns n..n+3 where inside.
fn store_row(row: u32, m: u32, n: u32, acc: vec4<f32>, add: vec4<f32>) {
  let v = u.alpha * acc + add;
  let e = row + m * u.N + n;
  if (m < u.M) {
    if (n < u.N) { out[e] = v.x; }
    if (n + 1u < u.N) { out[e + 1u] = v.y; }
    if (n + 2u < u.N) { out[e + 2u] = v.z; }
    if (n + 3u < u.N) { out[e + 3u] = v.w; }
  }
}

fn bias_or0(n: u32) -> f32 {
  var v = 0.0;
  if (u.has_bias != 0u && n < u.N) { v = bias[n * u.bias_stride]; }
  return v;
}

@compute @workgroup_size(WX, WY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wid.z + u.z_base;
  let idx = vec4<u32>(z / (u.d3 * u.d2 * u.d1), (z / (u.d3 * u.d2)) % u.d1, (z / u.d3) % u.d2, z % u.d3);
  let a_base = dot(idx, u.sa);
  let b_base = dot(idx, u.sb);

  let m0 = wid.y * 4u * WY;
  let n0 = wid.x * 4u * WX;
  let t = lid.y * WX + lid.x;
  var acc0 = vec4<f32>(0.0); // output row m0 + 4·lid.y + 0, columns n0 + 4·lid.x + 0..3
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < u.K; k0 += TK) {
    load_a(a_base, m0, k0, t);
    load_b(b_base, k0, n0, t);
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = As[kk * WY + lid.y];
      let bv = Bs[kk * WX + lid.x];
      acc0 = fma(vec4<f32>(av.x), bv, acc0);
      acc1 = fma(vec4<f32>(av.y), bv, acc1);
      acc2 = fma(vec4<f32>(av.z), bv, acc2);
      acc3 = fma(vec4<f32>(av.w), bv, acc3);
    }
    workgroupBarrier();
  }

  let n = n0 + 4u * lid.x;
  let add = vec4<f32>(bias_or0(n), bias_or0(n + 1u), bias_or0(n + 2u), bias_or0(n + 3u));
  let row = z * u.M * u.N;
  let m = m0 + 4u * lid.y;
  store_row(row, m, n, acc0, add);
  store_row(row, m + 1u, n, acc1, add);
  store_row(row, m + 2u, n, acc2, add);
  store_row(row, m + 3u, n, acc3, add);
}
