// cumsum: ONNX CumSum of x viewed as (outer, len, inner) along len; float32 or int32 words.
// Two entry points; the host (src/tensor/webgpu/cumsum.ts) picks one:
//   `lines`  one thread per (outer, inner) line, scanning its len elements sequentially.
//            Neighbouring threads hold neighbouring inner positions, so each step's loads
//            and stores coalesce when inner > 1. O(len) serial steps per thread: meant
//            for the lengths models scan (position ids, masks: up to a few thousand), and
//            picked for inner > 1, or for contiguous lines shorter than 32.
//   `rows`   one workgroup per contiguous line (inner == 1, the last-axis case such as
//            attention_mask.cumsum(-1)), WG·ITEMS elements per chunk: each thread scans
//            ITEMS consecutive elements serially, a Hillis–Steele scan of the WG thread
//            totals in workgroup memory (log2 WG steps) gives each thread its offset, and a
//            carry runs between chunks. One long line is not left to a single thread, and
//            ITEMS per thread cuts the barriers per element ITEMS-fold (barriers are what
//            a workgroup scan pays for, dearly on SwiftShader).
// Float sums are added in a different order from the cpu reference (float64, sequential);
// int32 sums wrap and are exact.
//
// bindings  @binding(0) uniform U { lines, len, inner }   lines = outer · inner
//           @binding(1) x: array<u32>   (outer · len · inner) f32 or i32 bits
//           @binding(2) y: array<u32>   same shape
// overrides DT         0 float32, 1 int32
//           EXCLUSIVE  1: y excludes the element itself (the first in scan order is 0)
//           REVERSE    1: scan from the end of the axis
//           WG         workgroup size (`lines` 256; `rows` 64, a power of two)
// constants ITEMS      elements per thread per chunk in `rows` (a private array's size
//                      must be a constant, so it is not an override)
// dispatch  `lines`: ceil(lines / WG) workgroups; `rows`: `lines` workgroups. Both folded
//           over (x, y); linear id wid.x + wid.y · nwg.x.

override DT: u32 = 0u;
override EXCLUSIVE: u32 = 0u;
override REVERSE: u32 = 0u;
override WG: u32 = 256u;
const ITEMS: u32 = 8u;

struct U { lines: u32, len: u32, inner: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<u32>;

var<workgroup> sh: array<u32, WG>;

// a + b on the bits of f32 or i32 (i32 wraps); 0u is zero for both.
fn add(a: u32, b: u32) -> u32 {
  if (DT == 1u) { return bitcast<u32>(bitcast<i32>(a) + bitcast<i32>(b)); }
  return bitcast<u32>(bitcast<f32>(a) + bitcast<f32>(b));
}

// Position along the axis of scan step s.
fn pos(s: u32) -> u32 {
  if (REVERSE == 1u) { return u.len - 1u - s; }
  return s;
}

@compute @workgroup_size(WG)
fn lines(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (t >= u.lines) { return; }
  let o = t / u.inner;
  let base = o * u.len * u.inner + (t - o * u.inner);
  var acc = 0u;
  for (var s = 0u; s < u.len; s++) {
    let at = base + pos(s) * u.inner;
    let v = x[at];
    if (EXCLUSIVE == 1u) {
      y[at] = acc;
      acc = add(acc, v);
    } else {
      acc = add(acc, v);
      y[at] = acc;
    }
  }
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let line = wid.y * nwg.x + wid.x; // uniform across the workgroup, so barriers below stay uniform
  if (line >= u.lines) { return; }
  let t = lid.x;
  let base = line * u.len;
  let chunk = WG * ITEMS;
  var carry = 0u;
  for (var c = 0u; c < (u.len + chunk - 1u) / chunk; c++) {
    // 1. Thread t scans its ITEMS consecutive elements serially (in registers).
    let s0 = c * chunk + t * ITEMS;
    var run: array<u32, ITEMS>;
    var total = 0u;
    for (var q = 0u; q < ITEMS; q++) {
      var v = 0u;
      if (s0 + q < u.len) { v = x[base + pos(s0 + q)]; }
      let before = total;
      total = add(total, v);
      run[q] = select(total, before, EXCLUSIVE == 1u);
    }
    // 2. Inclusive Hillis–Steele scan of the WG thread totals in workgroup memory.
    sh[t] = total;
    workgroupBarrier();
    for (var off = 1u; off < WG; off *= 2u) {
      var other = 0u;
      if (t >= off) { other = sh[t - off]; }
      workgroupBarrier();
      sh[t] = add(sh[t], other);
      workgroupBarrier();
    }
    // 3. Thread t's offset: the carry from earlier chunks plus the totals of threads < t.
    var offset = carry;
    if (t > 0u) { offset = add(carry, sh[t - 1u]); }
    for (var q = 0u; q < ITEMS; q++) {
      if (s0 + q < u.len) { y[base + pos(s0 + q)] = add(offset, run[q]); }
    }
    carry = add(carry, sh[WG - 1u]);
    workgroupBarrier(); // every thread has read sh before the next chunk overwrites it
  }
}
