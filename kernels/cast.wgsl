// cast: converts between float32, float16, int32 and bool, one thread per OUTPUT word
// (float16 output: two elements per word, so no two threads write the same word).
//
// Layouts (src/tensor/webgpu/storage.ts): f32 / i32 one word per element; bool one u32
// 0/1 per element; f16 packed halves, element 2k in the low 16 bits of word k.
//
// Semantics (ONNX Cast): int/bool → float exact where representable; float → int32
// truncates toward zero (NaN → 0, out of range saturates); → bool is x ≠ 0 (NaN → 1,
// −0 → 0); f32 → f16 rounds to nearest even, overflows to ±inf, keeps subnormals.
// The half conversions are done on bits rather than with pack2x16float /
// unpack2x16float: WGSL leaves their rounding and out-of-range results
// implementation-defined, and the results must equal the host's f32ToF16Bits.
//
// bindings  @binding(0) uniform U { n: u32, words: u32 }  elements, output words
//           @binding(1) x: array<u32>   input words
//           @binding(2) y: array<u32>   (words) output words
// overrides FROM, TO  0 float32, 1 float16, 2 int32, 3 bool (CAST_CODES in
//           src/tensor/webgpu/cast.ts); FROM == TO copies words
//           WG  workgroup size
// dispatch  ceil(words / WG) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override FROM: u32 = 0u;
override TO: u32 = 0u;
override WG: u32 = 256u;

struct U { n: u32, words: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

// float16 bits → float32 bits, exact (subnormal halves are normal floats).
fn f16_to_f32_bits(h: u32) -> u32 {
  let s = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 0u) { return s | bitcast<u32>(f32(m) * 5.960464477539063e-8); } // m · 2^-24, exact
  if (e == 31u) { return s | 0x7f800000u | (m << 13u); }
  return s | ((e + 112u) << 23u) | (m << 13u);
}

// float32 bits → float16 bits, round to nearest even: the host's f32ToF16Bits line by line.
fn f32_bits_to_f16(v: u32) -> u32 {
  let sign = (v >> 16u) & 0x8000u;
  let exp = (v >> 23u) & 0xffu;
  var mant = v & 0x7fffffu;
  if (exp == 0xffu) { return sign | 0x7c00u | select(0u, 0x200u, mant != 0u); }
  var e = i32(exp) - 112; // rebias 127 → 15
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    mant = mant | 0x800000u;
    let shift = u32(14 - e);
    let half = 1u << (shift - 1u);
    var r = mant >> shift;
    let rem = mant & ((1u << shift) - 1u);
    if (rem > half || (rem == half && (r & 1u) == 1u)) { r += 1u; }
    return sign | r; // a carry into bit 10 is the smallest normal, as it should be
  }
  var r = mant >> 13u;
  let rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u) == 1u)) {
    r += 1u;
    if (r == 0x400u) {
      r = 0u;
      e += 1;
      if (e >= 31) { return sign | 0x7c00u; }
    }
  }
  return sign | (u32(e) << 10u) | r;
}

fn half_of(i: u32) -> u32 {
  return (x[i / 2u] >> (16u * (i % 2u))) & 0xffffu;
}

// Element i as float32 bits.
fn load_f32_bits(i: u32) -> u32 {
  if (FROM == 0u) { return x[i]; }
  if (FROM == 1u) { return f16_to_f32_bits(half_of(i)); }
  if (FROM == 2u) { return bitcast<u32>(f32(bitcast<i32>(x[i]))); }
  return select(0u, 0x3f800000u, x[i] != 0u); // bool → 1.0
}

// float32 bits → int32, truncating; NaN → 0 and saturation decided here so that no
// implementation-defined conversion is reached.
fn f32_bits_to_i32(v: u32) -> i32 {
  if ((v & 0x7fffffffu) > 0x7f800000u) { return 0; }
  let f = bitcast<f32>(v);
  if (f >= 2147483648.0) { return 2147483647; }
  if (f <= -2147483648.0) { return -2147483647 - 1; }
  return i32(f);
}

fn load_i32(i: u32) -> i32 {
  if (FROM == 2u || FROM == 3u) { return bitcast<i32>(x[i]); }
  return f32_bits_to_i32(load_f32_bits(i));
}

fn load_bool(i: u32) -> u32 {
  if (FROM == 0u) { return u32((x[i] & 0x7fffffffu) != 0u); }
  if (FROM == 1u) { return u32((half_of(i) & 0x7fffu) != 0u); }
  return u32(x[i] != 0u);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (w >= u.words) { return; }
  if (FROM == TO) { y[w] = x[w]; return; }
  if (TO == 0u) { y[w] = load_f32_bits(w); return; }
  if (TO == 2u) { y[w] = bitcast<u32>(load_i32(w)); return; }
  if (TO == 3u) { y[w] = load_bool(w); return; }
  // TO == 1: two halves per word; a missing odd tail element is 0.
  let lo = f32_bits_to_f16(load_f32_bits(2u * w));
  var hi = 0u;
  if (2u * w + 1u < u.n) { hi = f32_bits_to_f16(load_f32_bits(2u * w + 1u)); }
  y[w] = lo | (hi << 16u);
}
