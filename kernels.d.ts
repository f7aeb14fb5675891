// WGSL sources are imported as strings: tsup bundles them with esbuild's text loader,
// vitest through the plugin in vitest.config.ts. The built library reads no files.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
