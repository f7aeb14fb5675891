// scatter_nd: ONNX ScatterND with reduction 'none' or 'add' on float32 / int32 words,
// deterministic and without float atomics.
//
// Output element i lies in slice p = i / S at offset r = i % S (S = Π data.dims[k:]).
// Update m is aimed at slice slot(m) = Σ_j wrap(indices[m, j]) · stride_j (strides counted
// in slices; a negative index adds dim_j; an index outside [−dim_j, dim_j) drops the
// update: the host has already thrown for host-side indices, as the cpu reference does).
//
//   'none', two passes. `owners`: one thread per update does atomicMax(owner[slot(m)], m + 1).
//      An integer max does not depend on the order threads run in, so owner[p] ends as
//      1 + the LAST update aimed at p: duplicates resolve as in the cpu reference and
//      onnxruntime (applied in order, last wins), on every run. `main` (MODE 0): one
//      thread per output element copies updates[(owner[p] − 1)·S + r], or data[i] if
//      owner[p] = 0. Work O(M·k + n).
//   'add', one pass. `main` (MODE 1): one thread per output element walks all M updates
//      in order and adds those aimed at its slice: a fixed order of float additions, the
//      same order as the cpu reference. O(M·k) per output element, fine for the short
//      index lists of exported models; a host-built CSR (as gather backward) is the way
//      out if a model ever scatters thousands of updates with 'add'.
//
// bindings  @binding(0) uniform U { n, m, k, S, ax: array<vec4<u32>, 8> }: n output
//           elements, m updates, k index depth, S slice size; ax[j] = (dim_j, stride_j, -, -)
//           @binding(1) indices: array<i32>          (m, k)
//           @binding(2) owner:   array<atomic<u32>>  (Π dims[:k]) zeroed by the host
//                                                    (MODE 0); any other buffer in MODE 1
//           @binding(3) data:    array<u32>          (n) f32 / i32 bits
//           @binding(4) updates: array<u32>          (m, S)
//           @binding(5) y:       array<u32>          (n)
//           `owners` uses bindings 0-2, `main` all of them.
// overrides MODE  0 'none', 1 'add'
//           DT    0 float32, 1 int32 (how 'add' adds; 'none' copies bits)
//           WG    workgroup size
// dispatch  `owners`: ceil(m / WG), `main`: ceil(n / WG) workgroups, folded over (x, y);
//           linear id wid.x + wid.y · nwg.x.

override MODE: u32 = 0u;
override DT: u32 = 0u;
override WG: u32 = 256u;

struct U {
  n: u32,
  m: u32,
  k: u32,
  S: u32,
  ax: array<vec4<u32>, 8>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> owner: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> data: array<u32>;
@group(0) @binding(4) var<storage, read> updates: array<u32>;
@group(0) @binding(5) var<storage, read_write> y: array<u32>;

const INVALID: u32 = 0xffffffffu;

// The slice update m is aimed at, or INVALID when an index is out of range.
fn slot_of(m: u32) -> u32 {
  var p = 0u;
  for (var j = 0u; j < u.k; j++) {
    let dim = u.ax[j].x;
    var v = indices[m * u.k + j];
    if (v < 0) { v += i32(dim); }
    if (v < 0 || u32(v) >= dim) { return INVALID; }
    p += u32(v) * u.ax[j].y;
  }
  return p;
}

fn add(a: u32, b: u32) -> u32 {
  if (DT == 1u) { return bitcast<u32>(bitcast<i32>(a) + bitcast<i32>(b)); }
  return bitcast<u32>(bitcast<f32>(a) + bitcast<f32>(b));
}

@compute @workgroup_size(WG)
fn owners(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (m >= u.m) { return; }
  let p = slot_of(m);
  if (p != INVALID) { atomicMax(&owner[p], m + 1u); }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  let p = i / u.S;
  let r = i - p * u.S;
  if (MODE == 0u) {
    let w = atomicLoad(&owner[p]);
    if (w == 0u) { y[i] = data[i]; } else { y[i] = updates[(w - 1u) * u.S + r]; }
    return;
  }
  var acc = data[i];
  for (var m = 0u; m < u.m; m++) {
    if (slot_of(m) == p) { acc = add(acc, updates[m * u.S + r]); }
  }
  y[i] = acc;
}
