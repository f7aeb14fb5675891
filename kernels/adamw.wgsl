// adamw: one in-place AdamW step (torch.optim.AdamW order), one thread per element.
//
//   p ← p·decay;  m ← β1·m + c1·g;  v ← β2·v + c2·g²
//   p ← p − stepSize · m / (√v / bc2Sqrt + eps)
//
// bindings  @binding(0) uniform U { n: u32, beta1, c1, beta2, c2, eps, decay, stepSize, bc2Sqrt: f32 }
//             c1 = 1 − β1, c2 = 1 − β2, decay = 1 − lr·wd, stepSize = lr / (1 − β1^t),
//             bc2Sqrt = √(1 − β2^t), all computed by the host in float64 each step (1 − β2 in f32
//             would be 1.3e-5 off, relative, for β2 = 0.999): lr, betas, eps, wd and step are data, so a
//             learning-rate schedule never recompiles the pipeline.
//           @binding(1) p: array<f32>   (n) read_write, the parameter
//           @binding(2) g: array<f32>   (n) its gradient
//           @binding(3) m: array<f32>   (n) read_write, first moment
//           @binding(4) v: array<f32>   (n) read_write, second moment
// overrides WG  workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override WG: u32 = 256u;

struct U { n: u32, beta1: f32, c1: f32, beta2: f32, c2: f32, eps: f32, decay: f32, stepSize: f32, bc2Sqrt: f32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  let gi = g[i];
  let mi = u.beta1 * m[i] + u.c1 * gi;
  let vi = u.beta2 * v[i] + u.c2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] * u.decay - u.stepSize * mi / (sqrt(vi) / u.bc2Sqrt + u.eps);
}
