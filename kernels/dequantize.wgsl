// dequantize: y[i] = (q(e) − zp(z)) · scale[s] → float32, one thread per output element.
// One kernel serves ONNX DequantizeLinear (x int8 / uint8 / int4; scale per tensor, per
// axis or blocked) and com.microsoft MatMulNBits' weight layout (B uint8 (N, k_blocks,
// blob) read as BITS-wide fields). The host (src/tensor/webgpu/quant.ts) reduces both to
// one index plan: output i is (o, d, r) in an (outer, len, inner) view of the output and
//   e = o·eo + d·inner + r            quantized field number in x
//   s = o·so + (d / bs)·sd + r·si     scale index
//   z = o·zo + (d / bs)·zd + r·zi     zero-point field number (ZP 1) or float index (ZP 2)
// DequantizeLinear: eo = len·inner; per tensor (so, sd, si) = 0; per axis bs = 1, sd = 1;
//   blocked (so, sd, si) = (blocks·inner, inner, 1); the zero point is shaped like scale.
// MatMulNBits (layout from onnxruntime docs/ContribOperators.md, com.microsoft.MatMulNBits:
//   B (N, k_blocks, block_size·bits/8) packed low bits first along K; scales (N, k_blocks);
//   zero points packed the same way, (N, ⌈k_blocks·bits/8⌉) bytes, default 2^(bits−1)):
//   (outer, len, inner) = (N, K, 1); eo = k_blocks·block_size, a row of B with
//   the last block's padding; (so, sd) = (k_blocks, 1); packed zero points (zo, zd) =
//   (⌈k_blocks·bits/8⌉·8/bits, 1), float zero points (k_blocks, 1).
// (q − zp) is an exact small integer for integer zero points, so y is the correctly
// rounded float32 product, equal to the cpu reference bit for bit.
//
// layout    (src/tensor/webgpu/storage.ts) int8 / uint8 four per u32, int4 eight per u32,
//           little-endian: field e sits at bit (e % (32/BITS))·BITS of word e / (32/BITS).
//           A uint8 tensor's words are its bytes, so B's low-nibble-first 4-bit fields (and
//           its packed zero points) follow the same rule.
// bindings  @binding(0) uniform U (below)
//           @binding(1) x:     array<u32>   packed fields
//           @binding(2) scale: array<f32>
//           @binding(3) zp:    array<u32>   packed fields (ZP 1), f32 bits (ZP 2); any buffer for ZP 0
//           @binding(4) y:     array<f32>   (n) output
// overrides BITS    field width: 2, 4 or 8 (PER_WORD = 32 / BITS follows from it)
//           SIGNED  1: fields are two's complement (int8, int4), 0: unsigned (uint8, B)
//           ZP      0: zero point u.zp_default for all (0, or 2^(bits−1) for MatMulNBits),
//                   1: packed fields like x, 2: float32
//           WG      workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override BITS: u32 = 8u;
override SIGNED: u32 = 1u;
override ZP: u32 = 0u;
override WG: u32 = 256u;

struct U {
  n: u32,
  len: u32,
  inner: u32,
  bs: u32,
  eo: u32,
  so: u32,
  sd: u32,
  si: u32,
  zo: u32,
  zd: u32,
  zi: u32,
  zp_default: i32,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> zp: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Fields per u32 word: 16, 8 or 4.
override PER_WORD: u32 = 32u / BITS;

// Field e of a packed array, given the word that holds it; sign-extended when SIGNED.
fn field(word: u32, e: u32) -> i32 {
  let f = (word >> ((e % PER_WORD) * BITS)) & ((1u << BITS) - 1u);
  if (SIGNED == 1u) { return bitcast<i32>(f << (32u - BITS)) >> (32u - BITS); }
  return i32(f);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  let od = i / u.inner;
  let r = i - od * u.inner;
  let o = od / u.len;
  let d = od - o * u.len;
  let blk = d / u.bs;
  let e = o * u.eo + d * u.inner + r;
  let s = o * u.so + blk * u.sd + r * u.si;
  let z = o * u.zo + blk * u.zd + r * u.zi;
  let q = f32(field(x[e / PER_WORD], e));
  var zero = f32(u.zp_default);
  if (ZP == 1u) { zero = f32(field(zp[z / PER_WORD], z)); }
  if (ZP == 2u) { zero = bitcast<f32>(zp[z]); }
  y[i] = (q - zero) * scale[s];
}
