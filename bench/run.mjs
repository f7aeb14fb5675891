#!/usr/bin/env node
// Runs the benchmarks: each bench/*.bench.ts is bundled with esbuild (WGSL as text, as
// in the library build) and run in its own Node process, one after another, so they do
// not compete for the two cores. Usage: npm run bench [-- name-filter ...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
const dir = 'bench';
const outDir = join(dir, 'out');
mkdirSync(outDir, { recursive: true });
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
let failed = 0;
for (const f of files) {
  const outfile = join(outDir, f.replace(/\.ts$/, '.mjs'));
  await build({
    entryPoints: [join(dir, f)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    loader: { '.wgsl': 'text' },
    external: ['webgpu', 'onnxruntime-web', 'gpu.js'],
    logLevel: 'error',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  console.log(`\n=== ${f} ===`);
  const r = spawnSync(process.execPath, [outfile], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
