// reduce_backward: dx[i] for ReduceSum / ReduceMean / ReduceMax, one thread per input element.
//
//   sum / mean: dx[i] = dy[o(i)] · scale          (scale = 1, or 1 / reduced count)
//   max:        dx[i] = x[i] == m[o] ? dy[o] / count[o] : 0
//               torch.amax semantics: the gradient is split evenly among tied maxima.
//               m and count come from kernels/reduce.wgsl (OP 2, then OP 3).
//
// o(i) is the output element input element i folds into. The launcher describes the
// input as up to 8 merged groups (innermost first) with their dims and the stride each
// group has in the output (0 for reduced groups).
//
// bindings  @binding(0) uniform U { n, n_groups, scale, gdim[8], gostr[8] }
//           @binding(1) x:     array<f32>   (n) forward input; max only, any buffer otherwise
//           @binding(2) dy:    array<f32>   (n_out)
//           @binding(3) m:     array<f32>   (n_out) max per output; max only
//           @binding(4) count: array<f32>   (n_out) ties per output; max only
//           @binding(5) dx:    array<f32>   (n)
// overrides OP  0 sum, 1 mean, 2 max
//           WG  workgroup size
// dispatch  ceil(n / WG) workgroups, folded over (x, y); linear id wid.x + wid.y · nwg.x.

override OP: u32 = 0u;
override WG: u32 = 256u;

struct U {
  n: u32,
  n_groups: u32,
  scale: f32,
  _pad: u32,
  gdim: array<vec4<u32>, 2>,
  gostr: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> count: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

fn out_index(i0: u32) -> u32 {
  var i = i0;
  var o = 0u;
  for (var k = 0u; k < u.n_groups; k++) {
    let d = u.gdim[k / 4u][k % 4u];
    o += (i % d) * u.gostr[k / 4u][k % 4u];
    i /= d;
  }
  return o;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid.x;
  if (i >= u.n) { return; }
  let o = out_index(i);
  if (OP == 2u) {
    dx[i] = select(0.0, dy[o] / count[o], x[i] == m[o]);
  } else {
    dx[i] = dy[o] * u.scale;
  }
}
