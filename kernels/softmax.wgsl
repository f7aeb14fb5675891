// softmax: y = exp(x − max) / Σ exp(x − max) over the last axis, with optional causal and
// key-padding masks. TPR threads per row (a power of 2; the launcher aims at ~32 elements
// per thread), WG / TPR rows per workgroup: short rows (attention over a few keys) share a
// workgroup instead of leaving most of it idle, long rows get a whole workgroup.
//
// Two reads of x: pass 1 keeps an online (max, Σ exp) pair per thread (rescaled when the
// max grows, as in flash attention), pairs are merged by a shared-memory tree; pass 2 writes.
// Masked positions are 0. A row with nothing to attend (every key masked, or every kept
// input −∞) is all zeros, not NaN, matching the cpu reference.
//
// bindings  @binding(0) uniform U { rows, t, tq, rows_per_b }
//             t = Tk (row length); tq = Tq (query rows per (batch, head) block);
//             rows_per_b = H·Tq (rows sharing one keyMask row)
//           @binding(1) x:    array<f32>   (rows, t)
//           @binding(2) mask: array<u32>   (B, t) keyMask words (bool / int32 as u32, or f32 bits);
//                                          MASK = 0: any buffer, never read
//           @binding(3) y:    array<f32>   (rows, t)
// overrides WG      workgroup size
//           TPR     threads per row, a power of 2 ≤ WG
//           CAUSAL  1: key j is masked for query row i when j > i + (Tk − Tq)  (KV-cache offset)
//           MASK    0 none, 1 keep where the word ≠ 0 (bool, int32), 2 keep where the f32 ≠ 0
// dispatch  ceil(rows / (WG / TPR)) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override WG: u32 = 256u;
override TPR: u32 = 256u;
override CAUSAL: u32 = 0u;
override MASK: u32 = 0u;

struct U { rows: u32, t: u32, tq: u32, rows_per_b: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

// Lowest finite f32: the "no value yet" max. exp(LOWEST − m) is 0 for any sane m, and
// unlike −∞ it never makes (−∞) − (−∞) = NaN when two empty partials merge.
const LOWEST: f32 = -3.4028234e38;

var<workgroup> sm: array<f32, WG>;
var<workgroup> ss: array<f32, WG>;

// One past the last key query row `row` may see: j > i + (Tk − Tq) is in its future.
fn row_end(row: u32) -> u32 {
  if (CAUSAL == 0u) { return u.t; }
  let last = i32(row % u.tq) + i32(u.t) - i32(u.tq);
  return u32(clamp(last + 1, 0, i32(u.t)));
}

// keyMask entry j of the mask row starting at word mrow.
fn key_on(mrow: u32, j: u32) -> bool {
  if (MASK == 0u) { return true; }
  let w = mask[mrow + j];
  return select(w != 0u, bitcast<f32>(w) != 0.0, MASK == 2u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
  let seg = l / TPR;
  let t = l % TPR;
  let row = (wid.y * nwg.x + wid.x) * (WG / TPR) + seg;
  let live = row < u.rows;
  let base = row * u.t;
  let end = row_end(row);
  let mrow = (row / u.rows_per_b) * u.t;

  var m = LOWEST;
  var s = 0.0;
  if (live) {
    for (var j = t; j < end; j += TPR) {
      if (!key_on(mrow, j)) { continue; }
      let v = x[base + j];
      if (v > m) {
        s = s * exp(m - v) + 1.0;
        m = v;
      } else {
        s += exp(v - m);
      }
    }
  }
  sm[l] = m;
  ss[l] = s;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (t < k) {
      let m2 = sm[l + k];
      let mx = max(m, m2);
      s = s * exp(m - mx) + ss[l + k] * exp(m2 - mx);
      m = mx;
      sm[l] = m;
      ss[l] = s;
    }
    workgroupBarrier();
  }
  if (!live) { return; }
  let mx = sm[seg * TPR];
  let total = ss[seg * TPR];
  let inv = select(0.0, 1.0 / total, total > 0.0);
  for (var j = t; j < u.t; j += TPR) {
    y[base + j] = select(0.0, exp(x[base + j] - mx) * inv, j < end && key_on(mrow, j));
  }
}
