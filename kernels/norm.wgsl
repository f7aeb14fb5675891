// norm: LayerNorm or RMSNorm forward over the last axis, one workgroup per row, float32.
//
//   s      = x + res                        (HAS_RES; otherwise s = x)
//   LayerNorm (RMS = false): mean = Σs / C, invStd = 1/√(Σ(s − mean)² / C + eps)   (biased variance)
//                            y = (s − mean)·invStd·gamma + beta
//   RMSNorm   (RMS = true):  invStd = 1/√(Σs² / C + eps),  y = s·invStd·gamma     (Llama)
//
// bindings  @binding(0) uniform U { rows: u32, C: u32, eps: f32 }
//           @binding(1) x:      array<f32>  (rows, C)
//           @binding(2) res:    array<f32>  (rows, C)  read only when HAS_RES (else any buffer)
//           @binding(3) gamma:  array<f32>  (C)
//           @binding(4) beta:   array<f32>  (C)        read only when HAS_BETA
//           @binding(5) y:      array<f32>  (rows, C)
//           @binding(6) mean:   array<f32>  (rows)     written only when !RMS
//           @binding(7) invStd: array<f32>  (rows)
//           @binding(8) sum:    array<f32>  (rows, C)  s, written only when HAS_RES
//           Unused bindings still need a buffer: WGSL counts any mention as a use.
// overrides RMS, HAS_RES, HAS_BETA  which variant (bool)
//           WG  threads per row, a power of two; each thread strides the row by WG
// dispatch  rows workgroups, folded over (x, y); row = wid.x + wid.y · nwg.x.
//
// LayerNorm takes two passes (mean, then the centred sum of squares) rather than Σs and
// Σs² in one: the one-pass form cancels catastrophically when |mean| ≫ σ. Rows are read
// up to three times; they stay in L1/L2 for the row sizes of transformers.

override RMS: bool = false;
override HAS_RES: bool = false;
override HAS_BETA: bool = false;
override WG: u32 = 256u;

struct U { rows: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> res: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> invStd: array<f32>;
@group(0) @binding(8) var<storage, read_write> sum: array<f32>;

var<workgroup> red: array<f32, WG>;

// Tree sum over the workgroup; every thread gets the total. Called in uniform control flow.
fn workgroup_sum(v: f32, t: u32) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier(); // red is reused by the next call
  return total;
}

fn load(i: u32) -> f32 {
  if (HAS_RES) { return x[i] + res[i]; }
  return x[i];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= u.rows) { return; } // uniform per workgroup, so the barriers below are fine
  let t = lid.x;
  let o = row * u.C;
  let n = f32(u.C);

  // Pass 1: Σs (LayerNorm) or Σs² (RMSNorm); s is stored here when there is a residual.
  var acc = 0.0;
  for (var c = t; c < u.C; c += WG) {
    let s = load(o + c);
    if (HAS_RES) { sum[o + c] = s; }
    acc += select(s, s * s, RMS);
  }
  let total = workgroup_sum(acc, t);

  var mu = 0.0;
  var ms = total / n;
  if (!RMS) {
    // Pass 2: centred sum of squares.
    mu = total / n;
    var sq = 0.0;
    for (var c = t; c < u.C; c += WG) {
      let d = load(o + c) - mu;
      sq += d * d;
    }
    ms = workgroup_sum(sq, t) / n;
  }
  let rstd = 1.0 / sqrt(ms + u.eps);
  if (t == 0u) {
    invStd[row] = rstd;
    if (!RMS) { mean[row] = mu; }
  }

  // Pass 3: normalize, scale, shift.
  for (var c = t; c < u.C; c += WG) {
    var v = (load(o + c) - mu) * rstd * gamma[c];
    if (HAS_BETA) { v += beta[c]; }
    y[o + c] = v;
  }
}
