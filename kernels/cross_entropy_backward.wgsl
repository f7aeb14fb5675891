// cross_entropy_backward: dx[r, j] = (softmax(x[r])_j − [j == label[r]]) · scale[0],
// with scale = dLoss / kept from kernels/cross_entropy_mean.wgsl (BACKWARD = 1).
// Rows whose label is ignore_index (or outside [0, V), as in the forward) get 0.
//
// TPR threads per row (a power of 2), WG / TPR rows per workgroup: an online (max, Σ exp)
// pass over the logits, a shared-memory tree merge, then a second pass that writes dx.
//
// bindings  @binding(0) uniform U { rows, v, ignore_index: i32 }
//           @binding(1) x:      array<f32>   (rows, v) logits
//           @binding(2) labels: array<i32>   (rows)
//           @binding(3) scale:  array<f32>   (1) dLoss / kept
//           @binding(4) dx:     array<f32>   (rows, v)
// overrides WG   workgroup size
//           TPR  threads per row, a power of 2 ≤ WG
// dispatch  ceil(rows / (WG / TPR)) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override WG: u32 = 256u;
override TPR: u32 = 256u;

struct U { rows: u32, v: u32, ignore_index: i32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;

const LOWEST: f32 = -3.4028234e38; // see kernels/softmax.wgsl

var<workgroup> sm: array<f32, WG>;
var<workgroup> ss: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
  let seg = l / TPR;
  let t = l % TPR;
  let row = (wid.y * nwg.x + wid.x) * (WG / TPR) + seg;
  let live = row < u.rows;
  let base = row * u.v;
  var label = -1;
  if (live) { label = labels[row]; }
  let keep = live && label != u.ignore_index && label >= 0 && label < i32(u.v);

  var m = LOWEST;
  var s = 0.0;
  if (keep) {
    for (var j = t; j < u.v; j += TPR) {
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
  let g = scale[0];
  let total = ss[seg * TPR];
  let c = select(0.0, g / total, total > 0.0); // total is 0 only on ignored rows
  for (var j = t; j < u.v; j += TPR) {
    var d = 0.0;
    if (keep) {
      d = exp(x[base + j] - mx) * c - select(0.0, g, i32(j) == label);
    }
    dx[base + j] = d;
  }
}
