// transpose: batched 2-D transpose through workgroup memory, out[b, c, r] = x[b, r, c]
// for x (B, R, C) → out (B, C, R). The host uses it when a transpose, after merging
// contiguous dims, is exactly this pattern (e.g. (M, N) → (N, M), or (B, M, N) →
// (B, N, M)); other permutations keep the innermost dim and run kernels/copy_strided.wgsl.
//
// Why tiles: copied element by element, either the reads or the writes stride by a whole
// row and every access touches its own memory segment. A 32×32 tile is read with
// consecutive threads on consecutive columns, then written back the same way along the
// other axis. The tile row is padded to 33 words so the column read of the tile hits 32
// different shared-memory banks. Words are copied raw, so any 4-byte dtype works.
//
// bindings  @binding(0) uniform U { rows: R, cols: C, batch: B }
//           @binding(1) x: array<u32>     (B, R, C)
//           @binding(2) out: array<u32>   (B, C, R)
// overrides none: the tile is 32×32, the workgroup (32, 8), each thread moves 4 rows
// dispatch  (ceil(C / 32), ceil(R / 32), B) workgroups

const TILE: u32 = 32u;
const ROWS: u32 = 8u;

struct U { rows: u32, cols: u32, batch: u32 }

@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read> x: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

var<workgroup> tile: array<u32, 1056>; // TILE · (TILE + 1)

@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wid.z * u.rows * u.cols;
  let r0 = wid.y * TILE;
  let c0 = wid.x * TILE;
  // Load: thread (lx, ly) reads x[r0 + ly + i, c0 + lx] — consecutive lx, consecutive addresses.
  for (var i = 0u; i < TILE; i += ROWS) {
    let r = r0 + lid.y + i;
    let c = c0 + lid.x;
    if (r < u.rows && c < u.cols) {
      tile[(lid.y + i) * (TILE + 1u) + lid.x] = x[base + r * u.cols + c];
    }
  }
  workgroupBarrier();
  // Store: thread (lx, ly) writes out[c0 + ly + i, r0 + lx] — again consecutive lx, consecutive addresses.
  for (var i = 0u; i < TILE; i += ROWS) {
    let c = c0 + lid.y + i;
    let r = r0 + lid.x;
    if (c < u.cols && r < u.rows) {
      out[base + c * u.rows + r] = tile[lid.x * (TILE + 1u) + lid.y + i];
    }
  }
}
