// sum_to_shape: y[s, o] = Σ_{r in chunk s} x[kept(o) + reduced(r)], the backward of
// broadcasting. The host merges adjacent axes into "kept" runs (output axes) and
// "reduced" runs (summed axes) and splits the R reduced elements into S chunks; when
// S > 1 it sums the (S, nOut) partials with a second launch of this kernel. The order
// of additions is fixed, so results are deterministic (no atomics).
//
// Two shapes of work, by which axis is innermost in memory (override INNER):
//   INNER = 0  a kept axis is innermost (bias grad: (2048, 768) → (768)): one thread
//              per (o, s) walks its chunk serially; neighbouring threads read
//              neighbouring columns, so loads coalesce.
//   INNER = 1  a reduced axis is innermost ((B, T, C) → (B, T, 1), or → scalar): one
//              workgroup per (o, s); its threads stride over the chunk and finish with a
//              shared-memory tree, so loads coalesce within the workgroup.
//
// bindings  @binding(0) uniform U { n_out, r, s, chunk, lv: array<vec4<u32>, 4> }: n_out
//           outputs, r summed elements each, split in s chunks of `chunk`; level j
//           (outermost first) lv[j] = (kept dim, its stride in x, summed dim, its stride)
//           @binding(1) x: array<f32>
//           @binding(2) y: array<f32>   (s, n_out) partial sums; (n_out) when s = 1
// overrides INNER  0 or 1, see above
//           KR, RR  number of kept / summed runs, 0..4: the index math unrolls to constant
//                   uniform indices (dynamic indexing is slow on some drivers)
//           WG     workgroup size, a power of two (the tree halves it)
// dispatch  INNER = 0: ceil(n_out · s / WG) workgroups; INNER = 1: n_out · s workgroups;
//           folded over (x, y) past 65535; linear id wid.x + wid.y · nwg.x.

override INNER: u32 = 0u;
override KR: u32 = 1u;
override RR: u32 = 1u;
override WG: u32 = 256u;

struct U {
  n_out: u32,
  r: u32,
  s: u32,
  chunk: u32,
  lv: array<vec4<u32>, 4>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<f32, WG>;

// One level: peel its coordinate off `rem`, return its offset (dim_stride = (dim, stride)).
fn peel(dim_stride: vec2<u32>, rem: ptr<function, u32>) -> u32 {
  let c = *rem % dim_stride.x;
  *rem = *rem / dim_stride.x;
  return c * dim_stride.y;
}

// Offset in x of output element o (KR = 0 is the scalar output).
fn kept_offset(o: u32) -> u32 {
  var rem = o;
  var off = 0u;
  if (KR > 3u) { off += peel(u.lv[3].xy, &rem); }
  if (KR > 2u) { off += peel(u.lv[2].xy, &rem); }
  if (KR > 1u) { off += peel(u.lv[1].xy, &rem); }
  if (KR > 0u) { off += rem * u.lv[0].y; }
  return off;
}

// Offset in x of summed element r, relative to kept_offset (RR = 0: nothing summed).
fn reduced_offset(r: u32) -> u32 {
  var rem = r;
  var off = 0u;
  if (RR > 3u) { off += peel(u.lv[3].zw, &rem); }
  if (RR > 2u) { off += peel(u.lv[2].zw, &rem); }
  if (RR > 1u) { off += peel(u.lv[1].zw, &rem); }
  if (RR > 0u) { off += rem * u.lv[0].w; }
  return off;
}

// INNER = 0: thread g sums chunk s = g / n_out of output o = g % n_out.
fn column_sum(g: u32) {
  if (g >= u.n_out * u.s) { return; }
  let o = g % u.n_out;
  let r0 = (g / u.n_out) * u.chunk;
  let r1 = min(r0 + u.chunk, u.r);
  let base = kept_offset(o);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) { acc += x[base + reduced_offset(r)]; }
  y[g] = acc;
}

// INNER = 1: workgroup w sums chunk s = w / n_out of output o = w % n_out.
fn row_sum(w: u32, t: u32) {
  let o = w % u.n_out;
  let r0 = (w / u.n_out) * u.chunk;
  let r1 = min(r0 + u.chunk, u.r);
  let base = kept_offset(o);
  var acc = 0.0;
  for (var r = r0 + t; r < r1; r += WG) { acc += x[base + reduced_offset(r)]; }
  part[t] = acc;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h = h / 2u) {
    if (t < h) { part[t] += part[t + h]; }
    workgroupBarrier();
  }
  if (t == 0u) { y[w] = part[0]; }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wid.y * nwg.x + wid.x;
  if (INNER == 0u) {
    column_sum(w * WG + lid.x);
  } else if (w < u.n_out * u.s) {
    row_sum(w, lid.x);
  }
}
