/**
 * Benchmark helpers: median timing over repeats, a printed table, and results kept as
 * JSON in bench/out/results/ for docs/benchmarks.md. Ratios are always against a peer
 * measured in the same process, never absolute thresholds.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { getDevice, type GpuContext } from '../src/gpu/device.js';

export interface Row {
  [column: string]: string | number;
}

/** Median milliseconds of `fn` over `repeats` runs after `warmup` runs. */
export async function timeMs(fn: () => Promise<void> | void, repeats = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

export async function deviceName(): Promise<string> {
  try {
    const ctx: GpuContext = await getDevice();
    const i = ctx.info;
    return `${i.vendor} ${i.architecture} ${i.description} (${i.via})`.replace(/\s+/g, ' ').trim();
  } catch (err) {
    return `no WebGPU (${(err as Error).message})`;
  }
}

export function printTable(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? fmt(v) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(cell(r[c] ?? '')).length)));
  const line = (vals: string[]) => '| ' + vals.map((v, i) => v.padEnd(widths[i])).join(' | ') + ' |';
  console.log(line(cols));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(cols.map((c) => String(cell(r[c] ?? '')))));
}

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

/**
 * Saves a result table as docs/bench-results/<name>.json (committed); `npm run bench`
 * then rebuilds docs/benchmarks.md from every file there, so running one benchmark
 * keeps the others' latest figures.
 */
export function saveResults(name: string, device: string, rows: Row[], notes: string[] = []): void {
  mkdirSync('docs/bench-results', { recursive: true });
  const doc = { name, device, date: new Date().toISOString(), node: process.version, rows, notes };
  const tmp = `docs/bench-results/${name}.json.tmp`;
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n');
  renameSync(tmp, `docs/bench-results/${name}.json`);
}

export function gflops(flops: number, ms: number): number {
  return flops / (ms * 1e6);
}
