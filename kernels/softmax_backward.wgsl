// softmax_backward: dx = y ⊙ (dy − Σ dy ⊙ y) over the last axis.
// TPR threads per row (a power of 2); WG / TPR rows per workgroup. The row dot product is a
// shared-memory tree. Masked positions have y = 0, so their dx is 0 with no mask input.
//
// bindings  @binding(0) uniform U { rows, t }
//           @binding(1) y:  array<f32>   (rows, t) softmax output
//           @binding(2) dy: array<f32>   (rows, t)
//           @binding(3) dx: array<f32>   (rows, t)
// overrides WG   workgroup size
//           TPR  threads per row, a power of 2 ≤ WG
// dispatch  ceil(rows / (WG / TPR)) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override WG: u32 = 256u;
override TPR: u32 = 256u;

struct U { rows: u32, t: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> sh: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) l: u32) {
  let seg = l / TPR;
  let t = l % TPR;
  let row = (wid.y * nwg.x + wid.x) * (WG / TPR) + seg;
  let live = row < u.rows;
  let base = row * u.t;

  var dot = 0.0;
  if (live) {
    for (var j = t; j < u.t; j += TPR) { dot += dy[base + j] * y[base + j]; }
  }
  sh[l] = dot;
  workgroupBarrier();
  for (var k = TPR / 2u; k > 0u; k >>= 1u) {
    if (t < k) { sh[l] += sh[l + k]; }
    workgroupBarrier();
  }
  if (!live) { return; }
  let total = sh[seg * TPR];
  for (var j = t; j < u.t; j += TPR) {
    let yj = y[base + j];
    dx[base + j] = yj * (dy[base + j] - total);
  }
}
