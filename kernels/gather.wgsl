// gather: ONNX Gather along one axis, with data viewed as (outer, len, inner) and the
// indices flattened to (m): out[o, j, k] = data[o, idx[j], k], out (outer, m, inner).
// Embedding lookup is outer = 1, len = vocabulary, inner = hidden size.
//
// Host indices (the usual case: input_ids) are wrapped and range-checked on the host
// before upload, where an error can still be thrown. Device indices cannot be checked
// without a readback, so here a negative index wraps by len and one still out of range
// yields zeros instead of reading outside `data`.
//
// Values are moved as raw 32-bit words (any 4-byte dtype). Packed dtypes (EPW > 1:
// float16, int8/uint8, int4) are read field by field and each thread writes one whole
// output word, so no two threads share a word.
//
// bindings  @binding(0) uniform U { n: outer·m·inner elements, words: threads (n, or
//           ceil(n / EPW)), inner, m, len }
//           @binding(1) data: array<u32>   (outer, len, inner)
//           @binding(2) idx: array<i32>    (m)
//           @binding(3) out: array<u32>    (outer, m, inner)
// overrides EPW  elements per 32-bit word: 1, 2, 4 or 8
//           WG   workgroup size
// dispatch  ceil(words / WG) workgroups, folded over (x, y) past 65535; the workgroup id
//           is linearized as wid.x + wid.y · nwg.x.

override EPW: u32 = 1u;
override WG: u32 = 256u;

struct U { n: u32, words: u32, inner: u32, m: u32, len: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// Element index in `data` of output element e, or -1 when its index is out of range.
fn source(e: u32) -> i32 {
  let k = e % u.inner;
  let t = e / u.inner;
  let j = t % u.m;
  let o = t / u.m;
  var r = idx[j];
  if (r < 0) { r += i32(u.len); }
  if (r < 0 || r >= i32(u.len)) { return -1; }
  return i32((o * u.len + u32(r)) * u.inner + k);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (w >= u.words) { return; }
  if (EPW == 1u) {
    let s = source(w);
    out[w] = select(data[max(s, 0)], 0u, s < 0);
    return;
  }
  let bits = 32u / EPW;
  let mask = 0xffffffffu >> (32u - bits);
  var word = 0u;
  for (var k = 0u; k < EPW; k++) {
    let e = w * EPW + k;
    if (e >= u.n) { break; }
    let s = source(e);
    if (s < 0) { continue; }
    let v = (data[u32(s) / EPW] >> ((u32(s) % EPW) * bits)) & mask;
    word |= v << (k * bits);
  }
  out[w] = word;
}
