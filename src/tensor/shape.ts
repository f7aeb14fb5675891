/** Shape arithmetic shared by every backend: broadcasting, strides, axes. */

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

/** Numpy broadcasting of two shapes; throws naming both shapes when they do not fit. */
export function broadcastDims(a: readonly number[], b: readonly number[], what = 'broadcast'): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides that read `dims` as if broadcast to `outDims`: 0 along broadcast axes.
 * Used by kernels that index inputs from an output coordinate.
 */
export function broadcastStrides(dims: readonly number[], outDims: readonly number[]): number[] {
  const own = stridesOf(dims);
  const off = outDims.length - dims.length;
  return outDims.map((_, i) => {
    const j = i - off;
    return j < 0 || dims[j] === 1 ? 0 : own[j];
  });
}

/** Resolves a possibly negative axis against `rank`. */
export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtDims(d: readonly number[]): string {
  return `[${d.join(', ')}]`;
}
