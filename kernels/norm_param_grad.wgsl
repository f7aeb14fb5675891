// norm_param_grad: dGamma = Σ_rows dy·x̂ and dBeta = Σ_rows dy for LayerNorm / RMSNorm,
// deterministic (no float atomics): a fixed two-stage column reduction.
//
//   x̂ = (x − mean)·invStd  (RMS: x·invStd); x is the normalized input (x + residual if any).
//   entry `partials`: part[k, c] = Σ over rows r of chunk k of (dy·x̂, dy)
//   entry `finish`:   dGamma[c], dBeta[c] = Σ_k part[k, c], summed in order k = 0, 1, ...
// Chunks are fixed by the row count alone, so the summation order, and the result, are the
// same on every run.
//
// bindings  @binding(0) uniform U { rows: u32, C: u32, chunk: u32, nChunks: u32 }
//             chunk = rows per chunk, nChunks = max(1, ceil(rows / chunk))
//           @binding(1) x:      array<f32>        (rows, C)      partials
//           @binding(2) mean:   array<f32>        (rows)         partials, read only when !RMS
//           @binding(3) invStd: array<f32>        (rows)         partials
//           @binding(4) dy:     array<f32>        (rows, C)      partials
//           @binding(5) part:   array<vec2<f32>>  (nChunks, C)   written by partials, read by finish
//           @binding(6) dGamma: array<f32>        (C)            finish
//           @binding(7) dBeta:  array<f32>        (C)            finish, written only when !RMS
//           Both entry points take the same bind group (launch binds 1..n in order, and
//           `layout: 'auto'` keeps only what an entry point mentions): each names the other's
//           bindings with a phony `_ = &b;`.
// overrides RMS  RMSNorm (no mean, no dBeta)
//           WG   threads per workgroup, one column each
// dispatch  partials: (ceil(C / WG), nChunks) workgroups; a thread sums its column over the
//             chunk's rows in order. A warp reads WG consecutive floats of a row (coalesced);
//             no shared memory or barriers are needed, and the chunks give the parallelism.
//           finish: (ceil(C / WG), 1) workgroups; a thread sums its column's nChunks partials.

override RMS: bool = false;
override WG: u32 = 64u;

struct U { rows: u32, C: u32, chunk: u32, nChunks: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invStd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> part: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read_write> dGamma: array<f32>;
@group(0) @binding(7) var<storage, read_write> dBeta: array<f32>;

@compute @workgroup_size(WG)
fn partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  _ = &dGamma;
  _ = &dBeta;
  let c = gid.x;
  let k = wid.y;
  if (c >= u.C) { return; }
  let r1 = min((k + 1u) * u.chunk, u.rows);
  var acc = vec2<f32>(0.0);
  for (var r = k * u.chunk; r < r1; r++) {
    var mu = 0.0;
    if (!RMS) { mu = mean[r]; }
    let xh = (x[r * u.C + c] - mu) * invStd[r];
    let d = dy[r * u.C + c];
    acc += vec2<f32>(d * xh, d);
  }
  part[k * u.C + c] = acc;
}

@compute @workgroup_size(WG)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>) {
  _ = &x;
  _ = &mean;
  _ = &invStd;
  _ = &dy;
  let c = gid.x;
  if (c >= u.C) { return; }
  var acc = vec2<f32>(0.0);
  for (var k = 0u; k < u.nChunks; k++) { acc += part[k * u.C + c]; }
  dGamma[c] = acc.x;
  if (!RMS) { dBeta[c] = acc.y; }
}
