// where: y = cond ? a : b with numpy broadcasting over all three, VEC outputs per
// thread. a and b are moved as 32-bit words, so any 32-bit dtype works (f32, i32, bool).
//
// bindings  @binding(0) uniform U { n, 3 pad, ax: array<vec4<u32>, 8> }: per output axis
//           (outermost first, after the host merged adjacent axes) ax[k] = (dim, stride in
//           cond, stride in a, stride in b), 0 where that input is broadcast
//           @binding(1) cond: array<u32>  bool, one u32 0/1 per element
//           @binding(2) a: array<u32>
//           @binding(3) b: array<u32>
//           @binding(4) y: array<u32>     (n)
// overrides RANK, VEC  as kernels/binary.wgsl (merged rank 1..8; 1 or 4 outputs per thread)
//           WG  workgroup size
// dispatch  ceil(n / (WG · VEC)) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override RANK: u32 = 1u;
override VEC: u32 = 1u;
override WG: u32 = 256u;

struct U {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  ax: array<vec4<u32>, 8>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> cond: array<u32>;
@group(0) @binding(2) var<storage, read> a: array<u32>;
@group(0) @binding(3) var<storage, read> b: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<u32>;

fn take(ax: vec4<u32>, rem: ptr<function, u32>) -> vec3<u32> {
  let c = *rem % ax.x;
  *rem = *rem / ax.x;
  return c * ax.yzw;
}

// Output index i → element offsets in (cond, a, b), as kernels/binary.wgsl.
fn offsets(i: u32) -> vec3<u32> {
  var rem = i;
  var off = vec3<u32>(0u);
  if (RANK > 7u) { off += take(u.ax[7], &rem); }
  if (RANK > 6u) { off += take(u.ax[6], &rem); }
  if (RANK > 5u) { off += take(u.ax[5], &rem); }
  if (RANK > 4u) { off += take(u.ax[4], &rem); }
  if (RANK > 3u) { off += take(u.ax[3], &rem); }
  if (RANK > 2u) { off += take(u.ax[2], &rem); }
  if (RANK > 1u) { off += take(u.ax[1], &rem); }
  return off + rem * u.ax[0].yzw;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = ((wid.y * nwg.x + wid.x) * WG + lid.x) * VEC;
  if (i >= u.n) { return; }
  let off = offsets(i);
  let step = u.ax[RANK - 1u].yzw;
  for (var q = 0u; q < VEC; q++) {
    let o = off + q * step;
    // Read only the chosen side: half the value traffic where cond is constant.
    if (cond[o.x] != 0u) {
      y[i + q] = a[o.y];
    } else {
      y[i + q] = b[o.z];
    }
  }
}
