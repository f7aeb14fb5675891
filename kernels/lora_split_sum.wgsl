// lora_split_sum: out[i] = Σ_{c < C} part[c · n + i], the chunks of a depth-split
// kernels/lora_thin.wgsl run added in chunk order (deterministic, no atomics). The
// layout of each chunk is whatever lora_thin wrote; this kernel only sees n floats.
//
// bindings  @binding(0) uniform U { n: u32, C: u32 }   elements per chunk, chunk count
//           @binding(1) part: array<f32>              (C, n)
//           @binding(2) out: array<f32>               (n)
// overrides WG  workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y) past 65535; the workgroup id is
//           linearized as wid.x + wid.y · nwg.x.

override WG: u32 = 256u;

struct U { n: u32, C: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  var s = 0.0;
  for (var c = 0u; c < u.C; c++) { s += part[c * u.n + i]; }
  out[i] = s;
}
