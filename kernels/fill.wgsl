// fill: sets n 32-bit words of a buffer to one bit pattern (zeros, or any u32).
//
// bindings  @binding(0) uniform U { n: u32, value: u32 }
//           @binding(1) dst: array<u32>   (n words)
// overrides WG  workgroup size
// dispatch  ceil(n / WG), folded over (x, y); linear id wid.x + wid.y · nwg.x.

override WG: u32 = 256u;

struct U { n: u32, value: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  dst[i] = u.value;
}
