// gather_backward: the scatter-add of Gather's gradient, deterministic without float
// atomics. With data viewed as (outer, len, inner) and indices flattened to (m):
//   dx[o, r, k] = Σ_{j : idx[j] = r} dy[o, j, k]      (zero where no index hits r)
// Two entries, by where the indices live:
//
// `main`  indices on the host (the usual case: input_ids). The host groups them as CSR
//         in one int32 array `csr`:
//           csr[0 .. len)                  slot of row r among the distinct rows, or -1
//           csr[len .. len + R + 1)        offsets: slot s owns positions [off[s], off[s+1])
//           csr[len + R + 1 .. + m)        positions j, ascending within each slot
//         One thread per dx element sums its row's list in ascending j, or writes 0:
//         every dx element is written exactly once, so no zero-fill pass is needed.
// `scan`  indices on the device: a synchronous op cannot read them back to build the
//         CSR, so one thread per (o, k) column walks all m indices in order and adds into
//         dx, which the host zero-fills first. Each thread owns its column, so there
//         is no race, and the order of additions is fixed. Parallelism is only
//         outer·inner, so the host path is preferred. Negative indices wrap by len;
//         indices still out of range are skipped (no readback to report them).
//
// bindings  @binding(0) uniform U { n: dx elements (main) or outer·inner columns (scan),
//           inner, m, len, off_base = len, pos_base = len + R + 1 }
//           @binding(1) dy: array<f32>    (outer, m, inner)
//           @binding(2) csr: array<i32>   main: as above; scan: the m raw indices
//           @binding(3) dx: array<f32>    (outer, len, inner)
// overrides WG  workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y) past 65535; the workgroup id is
//           linearized as wid.x + wid.y · nwg.x.

override WG: u32 = 256u;

struct U { n: u32, inner: u32, m: u32, len: u32, off_base: u32, pos_base: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> csr: array<i32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid.x;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let e = linear_id(wid, nwg, lid);
  if (e >= u.n) { return; }
  let k = e % u.inner;
  let t = e / u.inner;
  let r = t % u.len;
  let o = t / u.len;
  let slot = csr[r];
  var acc = 0.0;
  if (slot >= 0) {
    let first = u32(csr[u.off_base + u32(slot)]);
    let last = u32(csr[u.off_base + u32(slot) + 1u]);
    for (var p = first; p < last; p++) {
      let j = u32(csr[u.pos_base + p]);
      acc += dy[(o * u.m + j) * u.inner + k];
    }
  }
  dx[e] = acc;
}

@compute @workgroup_size(WG)
fn scan(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = linear_id(wid, nwg, lid);
  if (col >= u.n) { return; }
  let k = col % u.inner;
  let o = col / u.inner;
  for (var j = 0u; j < u.m; j++) {
    var r = csr[j];
    if (r < 0) { r += i32(u.len); }
    if (r < 0 || r >= i32(u.len)) { continue; }
    let at = (o * u.len + u32(r)) * u.inner + k;
    dx[at] += dy[(o * u.m + j) * u.inner + k];
  }
}
