// reduce: y[o] = ⊕ over r of x[kept_offset(o) + red_offset(r)] for float32, any set of axes.
//
// The launcher merges adjacent input dims that are both kept or both reduced, drops
// size-1 dims, and describes the two interleaved sets as up to 4 "kept" and 4 "reduced"
// groups (dim, input stride), innermost first. No transpose is ever materialized.
//
// bindings  @binding(0) uniform U (below)
//           @binding(1) x:   array<f32>   the input, contiguous
//           @binding(2) cmp: array<f32>   (n_out) values to count, OP 3 only; any buffer otherwise
//           @binding(3) y:   array<f32>   (n_out · n_chunks): y[o · n_chunks + s] is chunk s of output o
// overrides OP  0 sum, 1 mean (sum · scale), 2 max, 3 count of x == cmp[o] (for max backward ties)
//               max starts from init = −∞ (a uniform, so no const-evaluated infinity); WGSL's max()
//               does not promise to propagate NaN, unlike the cpu reference (torch.amax).
//           TX  outputs per workgroup; TY threads per output (TX · TY = workgroup size, TY a power of 2)
//           ROWS  1: the reduced run is innermost (rows are contiguous): the TY threads of an output
//                 are neighbours and stride along its row. 0: the last axis is kept: neighbouring
//                 threads take neighbouring outputs (TX up to 64). Either way a warp's loads coalesce.
// dispatch  ceil(n_out / TX) · n_chunks workgroups, folded over (x, y); the workgroup id is
//           linearized as wid.x + wid.y · nwg.x. Workgroup g does chunk g % n_chunks of outputs
//           (g / n_chunks) · TX ..+TX. A long reduction with few outputs is split into n_chunks
//           partials, then reduced again (n_chunks = 1) so every core has work; the order of
//           additions is fixed, so results are deterministic.

override OP: u32 = 0u;
override TX: u32 = 1u;
override TY: u32 = 256u;
override ROWS: u32 = 1u;

struct U {
  n_out: u32,
  r: u32,        // reduced elements per output
  chunk: u32,    // reduced elements per chunk
  n_chunks: u32,
  n_kept: u32,   // groups in kdim/kstr
  n_red: u32,    // groups in rdim/rstr
  scale: f32,    // OP 1: 1 / (total reduced count)
  init: f32,     // identity: 0, or −∞ for max
  kdim: vec4<u32>,
  kstr: vec4<u32>,
  rdim: vec4<u32>,
  rstr: vec4<u32>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cmp: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> sh: array<f32, TX * TY>;

// Input offset of coordinate i over n groups (innermost first); the outermost group takes
// what is left, so the common single-group case costs no division.
fn offset(i0: u32, n: u32, dim: vec4<u32>, str: vec4<u32>) -> u32 {
  if (n == 0u) { return 0u; }
  var i = i0;
  var off = 0u;
  for (var k = 0u; k + 1u < n; k++) {
    off += (i % dim[k]) * str[k];
    i /= dim[k];
  }
  return off + i * str[n - 1u];
}

fn merge(a: f32, b: f32) -> f32 {
  if (OP == 2u) { return max(a, b); }
  return a + b;
}

@compute @workgroup_size(TX * TY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= ((u.n_out + TX - 1u) / TX) * u.n_chunks) { return; } // whole workgroup: uniform
  let s = g % u.n_chunks;
  let tx = select(l % TX, l / TY, ROWS == 1u);
  let ty = select(l / TX, l % TY, ROWS == 1u);
  let step = select(TX, 1u, ROWS == 1u); // distance in sh from (tx, ty) to (tx, ty + 1)
  let head = l - ty * step;              // sh slot of (tx, 0)
  let o = (g / u.n_chunks) * TX + tx;
  let live = o < u.n_out;

  var acc = u.init;
  if (live) {
    let base = offset(o, u.n_kept, u.kdim, u.kstr);
    var want = 0.0;
    if (OP == 3u) { want = cmp[o]; }
    let r1 = min((s + 1u) * u.chunk, u.r);
    for (var r = s * u.chunk + ty; r < r1; r += TY) {
      let v = x[base + offset(r, u.n_red, u.rdim, u.rstr)];
      if (OP == 3u) { acc += select(0.0, 1.0, v == want); } else { acc = merge(acc, v); }
    }
  }
  sh[l] = acc;
  workgroupBarrier();
  // Tree over ty for each tx: a fixed order, so the result does not depend on timing.
  for (var k = TY / 2u; k > 0u; k >>= 1u) {
    if (ty < k) { sh[l] = merge(sh[l], sh[l + k * step]); }
    workgroupBarrier();
  }
  if (ty == 0u && live) {
    var res = sh[head];
    if (OP == 1u) { res *= u.scale; }
    y[o * u.n_chunks + s] = res;
  }
}
