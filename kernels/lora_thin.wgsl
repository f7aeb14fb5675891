// lora_thin: the thin GEMMs of the LoRA matmul, out (R, r) = alpha · P' · Q' with a
// small r (≤ 64) and a long reduction depth D. One kernel serves all four:
//
//   use                      P' (R, D)                 Q' (D, r)              out
//   h  = s·dropout(x)·Aᵀ     x (M, K) [drop]           A (r, K)   [Q_JD]      (M, r)
//   g  = s·dy·B              dy (M, N)                 B (N, r)               (M, r)
//   dA = (s·g)ᵀ·dropout(x)   x (M, K) read as (K, M)   g (M, r)               (r, K) [out_t]
//                            [TRANS_P, drop]
//   dB = dyᵀ·(s·h)           dy (M, N) [TRANS_P]       h (M, r)               (N, r)
//
// Each workgroup makes a TR × RB output tile (RB = r rounded up to a power of two ≥ 4);
// each thread a 4 × 4 register block of it. With O = TR·RB/16 blocks and 256 threads,
// S = 256/O "lanes" share every block and split each staged depth slice between them
// (lane ℓ takes depths ℓ, ℓ+S, …); the S partial blocks are then summed by a workgroup
// tree reduction. When the depth is also split over workgroups (`chunk` < D), each
// chunk writes its own partial result and kernels/lora_split_sum.wgsl adds them in chunk
// order. Both sums are in a fixed order: results are deterministic, no float atomics.
//
// bindings  @binding(0) uniform U (below)
//           @binding(1) p: array<vec4<f32>>  P, stored (R, D) row-major, or (D, R) with
//                                            TRANS_P; element e at p[e / 4][e % 4]
//           @binding(2) q: array<vec4<f32>>  Q, stored (D, r), or (r, D) with Q_JD
//           @binding(3) out: array<f32>      (chunks, R, r), or (chunks, r, R) with out_t
//           p and q are bound as vec4 arrays (pooled buffers are multiples of 16 bytes)
//           so one binding serves whole-vec4 loads and scalar reads of odd sizes.
// uniform   R, D, r; chunk (depth per workgroup, a multiple of TD); tiles = ⌈R / TR⌉;
//           groups = tiles · chunks; alpha (scales the output); out_t (write (r, R));
//           drop (1: P's element e is dropout(P)[e], 0 or P[e] · drop_scale) with key,
//           threshold, drop_scale: the mask of src/tensor/dropout.ts. The output layout
//           and dropout are data, not pipeline constants: dA and dB share a pipeline, and
//           switching dropout on or off (train / eval) compiles nothing.
// overrides TR     rows per tile: 16, 32 or 64     RB  rank columns: 4, 8, 16, 32 or 64
//           TD     depth of one staged slice: 32, or 16 when TR·RB > 1024
//           (128 ≤ TR·RB ≤ 4096, so 1 ≤ S ≤ 32 and S ≤ TD; Ps + Qs + Red ≤ 14 KiB)
//           TRANS_P, Q_JD  the layouts above
//           VEC_P  P's stored row length (D, or R with TRANS_P) is a multiple of 4
//           VEC_Q  Q is stored (r, D) (Q_JD) and D % 4 == 0. Rows of length r are read
//                  by element, so pipelines depend on r only through RB (hot-swap).
// dispatch  tiles · chunks workgroups of 256 (1-D, folded over (x, y) past 65535);
//           group g = wid.x + wid.y · nwg.x makes row tile g % tiles of chunk g / tiles.

override TR: u32 = 16u;
override RB: u32 = 8u;
override TD: u32 = 32u;
override TRANS_P: bool = false;
override Q_JD: bool = false;
override VEC_P: bool = false;
override VEC_Q: bool = false;

const WG: u32 = 256u;
override RQ: u32 = TR / 4u;      // vec4 row groups per tile
override JQ: u32 = RB / 4u;      // vec4 column groups
override O: u32 = RQ * JQ;       // register blocks per tile
override S: u32 = WG / O;        // lanes per block

struct U {
  R: u32, D: u32, r: u32, chunk: u32,
  tiles: u32, groups: u32, alpha: f32, out_t: u32,
  drop: u32, key: u32, threshold: u32, drop_scale: f32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> p: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Ps[d · RQ + i]: tile rows 4i..4i+3 at depth d. Qs[d · JQ + j]: columns 4j..4j+3.
var<workgroup> Ps: array<vec4<f32>, TD * TR / 4u>;
var<workgroup> Qs: array<vec4<f32>, TD * RB / 4u>;
var<workgroup> Red: array<vec4<f32>, WG>;

// Mirror of lowbias32 in src/tensor/dropout.ts (also in kernels/lora_matmul.wgsl): keep
// the copies identical, the cpu reference and the backward regenerate the same mask.
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn dropout(v: f32, e: u32) -> f32 {
  return select(0.0, v * u.drop_scale, lowbias32(u.key ^ e) >= u.threshold);
}

// P's elements (row, c..c+3) of its stored (rows, cols) layout; 0 outside.
fn read_p4(row: u32, c: u32, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (row >= rows) { return v; }
  let e = row * cols + c;
  if (VEC_P) {
    // cols % 4 == 0 and c % 4 == 0: the vec4 is wholly inside or wholly outside.
    if (c < cols) { v = p[e / 4u]; }
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (c + j < cols) { v[j] = p[(e + j) / 4u][(e + j) % 4u]; }
    }
  }
  if (u.drop != 0u) {
    for (var j = 0u; j < 4u; j++) { v[j] = dropout(v[j], e + j); }
  }
  return v;
}

fn read_q4(row: u32, c: u32, rows: u32, cols: u32) -> vec4<f32> {
  var v = vec4<f32>(0.0);
  if (row >= rows) { return v; }
  let e = row * cols + c;
  if (VEC_Q) {
    if (c < cols) { v = q[e / 4u]; }
    return v;
  }
  for (var j = 0u; j < 4u; j++) {
    if (c + j < cols) { v[j] = q[(e + j) / 4u][(e + j) % 4u]; }
  }
  return v;
}

// Stages P' rows row0.. (TR) at depths d0.. (TD) into Ps.
fn load_p(row0: u32, d0: u32, t: u32) {
  for (var i = t; i < TR * TD / 4u; i += WG) {
    if (TRANS_P) {
      // Stored (D, R): a vec4 runs along rows, Ps's vec4 axis.
      let d = i / RQ;
      let rq = i % RQ;
      Ps[d * RQ + rq] = read_p4(d0 + d, row0 + 4u * rq, u.D, u.R);
    } else {
      // Stored (R, D): a vec4 runs along depth; scatter its values to 4 depths.
      let row = i / (TD / 4u);
      let dq = i % (TD / 4u);
      let v = read_p4(row0 + row, d0 + 4u * dq, u.R, u.D);
      for (var j = 0u; j < 4u; j++) { Ps[(4u * dq + j) * RQ + row / 4u][row % 4u] = v[j]; }
    }
  }
}

// Stages Q' depths d0.. (TD) × all RB columns into Qs.
fn load_q(d0: u32, t: u32) {
  for (var i = t; i < TD * RB / 4u; i += WG) {
    if (Q_JD) {
      // Stored (r, D): a vec4 runs along depth; scatter.
      let j = i / (TD / 4u);
      let dq = i % (TD / 4u);
      let v = read_q4(j, d0 + 4u * dq, u.r, u.D);
      for (var k = 0u; k < 4u; k++) { Qs[(4u * dq + k) * JQ + j / 4u][j % 4u] = v[k]; }
    } else {
      let d = i / JQ;
      let jq = i % JQ;
      Qs[d * JQ + jq] = read_q4(d0 + d, 4u * jq, u.D, u.r);
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= u.groups) { return; } // whole workgroup: barriers below stay uniform
  let row0 = (g % u.tiles) * TR;
  let c = g / u.tiles;
  let t = lid.x;
  let owner = t % O;
  let lane = t / O;
  let rq = owner % RQ;
  let jq = owner / RQ;

  var acc: array<vec4<f32>, 4>;
  let d_end = min(u.D, (c + 1u) * u.chunk);
  for (var d0 = c * u.chunk; d0 < d_end; d0 += TD) {
    load_p(row0, d0, t);
    load_q(d0, t);
    workgroupBarrier();
    for (var d = lane; d < TD; d += S) {
      let pv = Ps[d * RQ + rq];
      let qv = Qs[d * JQ + jq];
      acc[0] = fma(vec4<f32>(pv.x), qv, acc[0]);
      acc[1] = fma(vec4<f32>(pv.y), qv, acc[1]);
      acc[2] = fma(vec4<f32>(pv.z), qv, acc[2]);
      acc[3] = fma(vec4<f32>(pv.w), qv, acc[3]);
    }
    workgroupBarrier();
  }

  // Tree-sum the S lanes' blocks, one block row at a time (Red holds one vec4 per thread).
  let base = c * u.R * u.r;
  for (var i = 0u; i < 4u; i++) {
    Red[t] = acc[i];
    workgroupBarrier();
    for (var stride = S / 2u; stride > 0u; stride >>= 1u) {
      if (lane < stride) { Red[t] += Red[t + stride * O]; }
      workgroupBarrier();
    }
    let row = row0 + 4u * rq + i;
    if (lane == 0u && row < u.R) {
      let v = u.alpha * Red[t];
      for (var k = 0u; k < 4u; k++) {
        let j = 4u * jq + k;
        if (j < u.r) {
          if (u.out_t != 0u) { out[base + j * u.R + row] = v[k]; } else { out[base + row * u.r + j] = v[k]; }
        }
      }
    }
    workgroupBarrier();
  }
}
