import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  platform: 'neutral',
  loader: { '.wgsl': 'text' },
  // Node-only modules are loaded lazily behind runtime checks; never bundle them.
  external: ['webgpu', 'node:fs', 'node:path', 'node:url', 'node:fs/promises', 'onnxruntime-web'],
});
