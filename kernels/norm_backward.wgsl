// norm_backward: dx of LayerNorm or RMSNorm over the last axis, one workgroup per row.
//
//   x̂ = (x − mean)·invStd  (RMS: x·invStd),   ĝ = dy·gamma,   means over the row's C values:
//   LayerNorm: dx = invStd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
//   RMSNorm:   dx = invStd·(ĝ − x̂·mean(ĝ·x̂))
// x is the normalized input: s = x + residual when the forward had one, and dx is then
// dL/ds, which the caller gives to both addends. dGamma / dBeta: kernels/norm_param_grad.wgsl.
//
// bindings  @binding(0) uniform U { rows: u32, C: u32 }
//           @binding(1) x:      array<f32>  (rows, C)
//           @binding(2) gamma:  array<f32>  (C)
//           @binding(3) mean:   array<f32>  (rows)  read only when !RMS (else any buffer)
//           @binding(4) invStd: array<f32>  (rows)
//           @binding(5) dy:     array<f32>  (rows, C)
//           @binding(6) dx:     array<f32>  (rows, C)
// overrides RMS  RMSNorm instead of LayerNorm (bool)
//           WG   threads per row, a power of two; each thread strides the row by WG
// dispatch  rows workgroups, folded over (x, y); row = wid.x + wid.y · nwg.x.

override RMS: bool = false;
override WG: u32 = 256u;

struct U { rows: u32, C: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invStd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

// Both row sums (Σĝ, Σĝ·x̂) in one tree.
var<workgroup> red: array<vec2<f32>, WG>;

fn workgroup_sum2(v: vec2<f32>, t: u32) -> vec2<f32> {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  return red[0]; // read once per dispatch: no barrier needed after
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; } // uniform per workgroup
  let t = lid.x;
  let o = row * u.C;
  let n = f32(u.C);
  var mu = 0.0;
  if (!RMS) { mu = mean[row]; }
  let rstd = invStd[row];

  var acc = vec2<f32>(0.0);
  for (var c = t; c < u.C; c += WG) {
    let xh = (x[o + c] - mu) * rstd;
    let gh = dy[o + c] * gamma[c];
    acc += vec2<f32>(gh, gh * xh);
  }
  let sums = workgroup_sum2(acc, t) / n;
  let meanG = select(sums.x, 0.0, RMS);

  for (var c = t; c < u.C; c += WG) {
    let xh = (x[o + c] - mu) * rstd;
    dx[o + c] = rstd * (dy[o + c] * gamma[c] - meanG - xh * sums.y);
  }
}
