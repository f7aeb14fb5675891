// copy_strided: for every coordinate c of a box of up to 8 dims,
//   dst[dst_off + Σ c_d · dst_st_d] = src[src_off + Σ c_d · src_st_d]
// with signed strides. One kernel serves transpose (permuted source strides), slice
// (source offset and strides · step, negative steps included), expand (stride 0 on
// broadcast dims), concat (one launch per input into its region of the output) and
// sliceBackward (into zeros). The host merges dims that are contiguous in both source
// and destination first, so most copies run at rank 1–3.
//
// Values are moved as raw 32-bit words, so any 4-byte dtype (float32, int32, bool as
// u32) is copied bit-exactly. Packed dtypes (EPW > 1: float16 two per word, int8/uint8
// four, int4 eight) need a dense destination (dst_off = 0, row-major strides): each
// thread then assembles one whole destination word from EPW source elements, so no two
// threads write the same word.
//
// bindings  @binding(0) uniform U: n (elements in the box), words (threads: n, or
//           ceil(n / EPW) when EPW > 1), src_off, dst_off (in elements), then per dim,
//           innermost first: dims, src_st, dst_st (two vec4 each, slots ≥ RANK unused)
//           @binding(1) src: array<u32>
//           @binding(2) dst: array<u32>
// overrides RANK  dims in the box, 1..8: the index math for unused dims folds away
//           EPW   elements per 32-bit word: 1, 2, 4 or 8
//           WG    workgroup size
// dispatch  ceil(words / WG) workgroups, folded over (x, y) past 65535; the workgroup id
//           is linearized as wid.x + wid.y · nwg.x.

override RANK: u32 = 1u;
override EPW: u32 = 1u;
override WG: u32 = 256u;

struct U {
  n: u32,
  words: u32,
  src_off: i32,
  dst_off: i32,
  dims: array<vec4<u32>, 2>,
  src_st: array<vec4<i32>, 2>,
  dst_st: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// One dim of the walk: peel coordinate c off the rest of the index, add c · strides.
// a = (rest, src, dst).
fn level(a: vec3<u32>, dim: u32, ss: i32, ds: i32) -> vec3<u32> {
  let c = a.x % dim;
  return vec3<u32>(a.x / dim, u32(i32(a.y) + i32(c) * ss), u32(i32(a.z) + i32(c) * ds));
}

// Source and destination element index of the i-th box element (row-major order).
// Written out per dim, not as a loop over the uniform arrays: constant indices compile
// to plain uniform loads everywhere, and RANK folds the unused levels away.
fn addresses(i: u32) -> vec2<u32> {
  var a = vec3<u32>(i, u32(u.src_off), u32(u.dst_off));
  a = level(a, u.dims[0].x, u.src_st[0].x, u.dst_st[0].x);
  if (RANK > 1u) { a = level(a, u.dims[0].y, u.src_st[0].y, u.dst_st[0].y); }
  if (RANK > 2u) { a = level(a, u.dims[0].z, u.src_st[0].z, u.dst_st[0].z); }
  if (RANK > 3u) { a = level(a, u.dims[0].w, u.src_st[0].w, u.dst_st[0].w); }
  if (RANK > 4u) { a = level(a, u.dims[1].x, u.src_st[1].x, u.dst_st[1].x); }
  if (RANK > 5u) { a = level(a, u.dims[1].y, u.src_st[1].y, u.dst_st[1].y); }
  if (RANK > 6u) { a = level(a, u.dims[1].z, u.src_st[1].z, u.dst_st[1].z); }
  if (RANK > 7u) { a = level(a, u.dims[1].w, u.src_st[1].w, u.dst_st[1].w); }
  return a.yz;
}

// The packed element at index e: EPW fields of 32 / EPW bits, lowest first.
fn packed(e: u32) -> u32 {
  let bits = 32u / EPW;
  return (src[e / EPW] >> ((e % EPW) * bits)) & (0xffffffffu >> (32u - bits));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (w >= u.words) { return; }
  if (EPW == 1u) {
    let a = addresses(w);
    dst[a.y] = src[a.x];
    return;
  }
  // Dense destination: word w holds box elements w·EPW .. w·EPW + EPW − 1.
  let bits = 32u / EPW;
  var word = 0u;
  for (var k = 0u; k < EPW; k++) {
    let e = w * EPW + k;
    if (e >= u.n) { break; }
    word |= packed(addresses(e).x) << (k * bits);
  }
  dst[w] = word;
}
