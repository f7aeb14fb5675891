// cross_entropy_mean: the 1 / kept normaliser of cross-entropy, in one workgroup.
// kept = rows whose label is not ignore_index and lies in [0, V) (as kernels/cross_entropy.wgsl).
//
//   BACKWARD = 0: out[0] = Σ src[r] / kept   (src = per-row losses: the forward's mean)
//   BACKWARD = 1: out[0] = src[0] / kept     (src = dLoss: the backward's gradient scale)
//   kept = 0 gives 0 in both, so a fully ignored batch has loss 0 and zero gradients.
//
// Each thread sums a strided slice of the rows, then a fixed shared-memory tree: the sum
// is deterministic (no atomics).
//
// bindings  @binding(0) uniform U { rows, v, ignore_index: i32 }
//           @binding(1) src:    array<f32>   (rows) losses, or (1) dLoss
//           @binding(2) labels: array<i32>   (rows)
//           @binding(3) out:    array<f32>   (1)
// overrides WG        workgroup size (a power of 2)
//           BACKWARD  see above
// dispatch  1 workgroup.

override WG: u32 = 256u;
override BACKWARD: u32 = 0u;

struct U { rows: u32, v: u32, ignore_index: i32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> sum: array<f32, WG>;
var<workgroup> kept: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) l: u32) {
  var s = 0.0;
  var n = 0u;
  for (var r = l; r < u.rows; r += WG) {
    let label = labels[r];
    if (label != u.ignore_index && label >= 0 && label < i32(u.v)) {
      n += 1u;
      if (BACKWARD == 0u) { s += src[r]; }
    }
  }
  sum[l] = s;
  kept[l] = n;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (l < k) {
      sum[l] += sum[l + k];
      kept[l] += kept[l + k];
    }
    workgroupBarrier();
  }
  if (l != 0u) { return; }
  let total = select(sum[0], src[0], BACKWARD == 1u);
  out[0] = select(0.0, total / f32(kept[0]), kept[0] > 0u);
}
