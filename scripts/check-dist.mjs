#!/usr/bin/env node
// Smoke test of the built package: imports dist/index.js (not the sources), checks it
// has no run-time file reads, and runs a LoRA matmul on the best backend it finds.
import { readdirSync, readFileSync } from 'node:fs';

// The entry and the chunks it loads lazily (backends are split out).
const text = readdirSync('dist')
  .filter((f) => f.endsWith('.js'))
  .map((f) => readFileSync(`dist/${f}`, 'utf8'))
  .join('\n');
for (const bad of ['readFileSync', "from 'node:fs'", '.wgsl\'']) {
  if (text.includes(bad)) throw new Error(`dist/ contains ${bad}: the built library must not read files`);
}
if (!text.includes('@compute')) throw new Error('dist/ does not embed the WGSL kernels');

const { Tensor, selectBackend } = await import('../dist/index.js');
const { backend, note } = await selectBackend('auto');
const t = (dims, f) => new Tensor('float32', Float32Array.from({ length: dims[0] * dims[1] }, (_, i) => f(i)), dims);
const y = backend.loraMatmul(t([2, 3], (i) => i), t([3, 2], (i) => i % 2), t([1, 3], () => 1), t([2, 1], () => 0.5), { scaling: 2 });
// x·W = [[2,1],[5,7]]... computed by hand: x=[[0,1,2],[3,4,5]], W=[[0,1],[0,1],[0,1]] → [[0,3],[0,12]];
// x·Aᵀ = [[3],[12]]; ·Bᵀ·2 = [[3,3],[12,12]] → y = [[3,6],[12,24]].
const got = await y.toArray();
const want = [3, 6, 12, 24];
if (got.some((v, i) => Math.abs(v - want[i]) > 1e-5)) throw new Error(`dist smoke: got ${got}, want ${want}`);
console.log(`dist smoke test ok on ${backend.name} (${note})`);
process.exit(0);
