import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/tensor/cpu/index.js';
import { Tensor, f32ToF16Bits, type DType } from '../../src/tensor/tensor.js';
import { gpu, hasWebGpu } from '../helpers/gpu.js';
import { randInt, randn, rng } from '../helpers/numeric.js';

const cpu = new CpuBackend();

const bitsF32 = (u: number[]) => new Float32Array(Uint32Array.from(u).buffer);

/** float32 values that exercise float16 rounding: ties, overflow, subnormals, specials. */
const EDGE_F32 = [
  0, -0, 1, -1, 0.5, 65504, 65519.99, 65520, -65520, 1e6, -1e6,
  1 + 2 ** -11, // tie between 1 and 1 + 2^-10: to even (1)
  1 + 3 * 2 ** -11, // tie: to even (1 + 2^-9)
  1 + 2 ** -11 + 2 ** -20, // just above the tie: up
  2 ** -14, // smallest normal half
  2 ** -14 - 2 ** -24, // largest subnormal half
  2 ** -24, // smallest subnormal half
  2 ** -25, // tie between 0 and 2^-24: to even (0)
  1.5 * 2 ** -25, // above the tie: 2^-24
  3 * 2 ** -25, // tie between 2^-24 and 2^-23: to even (2^-23)
  2 ** -14 - 2 ** -25, // tie that carries into the smallest normal
  1e-30, -1e-30, 1e-45, // f32 subnormal → ±0
  Infinity, -Infinity, NaN,
  2.7, -2.7, 0.49999997, 3e9, -3e9, 2147483520, -2147483648, 16777217,
];

/** Random values per dtype, with the edge cases in front. */
function sample(dtype: DType, n: number, seed: number): Tensor {
  const r = rng(seed);
  if (dtype === 'float32') {
    const v = Float32Array.from({ length: n }, (_, i) => (i < EDGE_F32.length ? EDGE_F32[i] : (r() - 0.5) * 2 ** (40 * r() - 20)));
    return new Tensor('float32', v, [n]);
  }
  if (dtype === 'float16') {
    const v = Uint16Array.from({ length: n }, (_, i) => (i < 8 ? [0, 0x8000, 1, 0x3ff, 0x7bff, 0x7c00, 0xfc00, 0x7e00][i] : Math.floor(r() * 65536)));
    return new Tensor('float16', v, [n]);
  }
  if (dtype === 'int32') return randInt([n], seed, -70000, 70000);
  return new Tensor('bool', Uint8Array.from({ length: n }, () => (r() < 0.5 ? 1 : 0)), [n]);
}

describe('cpu cast reference', () => {
  it('float32 → int32 truncates toward zero; NaN → 0; saturates', async () => {
    const x = new Tensor('float32', [-2.7, -0.5, 0.5, 2.7, NaN, 3e9, -3e9], [7]);
    expect(await cpu.cast(x, 'int32').toArray()).toEqual([-2, 0, 0, 2, 0, 2147483647, -2147483648]);
    expect(await cpu.cast(x, 'int64').toArray()).toEqual([-2, 0, 0, 2, 0, 3e9, -3e9]);
  });
  it('→ bool is x ≠ 0 (NaN is true, −0 is false)', async () => {
    expect(await cpu.cast(new Tensor('float32', [0, -0, NaN, 1e-45, -3], [5]), 'bool').toArray()).toEqual([0, 0, 1, 1, 1]);
    expect(await cpu.cast(new Tensor('int32', [0, 7, -1], [3]), 'bool').toArray()).toEqual([0, 1, 1]);
  });
  it('float32 → float16 bits, hand-computed', async () => {
    const x = new Tensor('float32', [65504, 65520, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14 - 2 ** -25, -0, NaN], [10]);
    const bits = Array.from(await cpu.cast(x, 'float16').data<Uint16Array>());
    expect(bits).toEqual([0x7bff, 0x7c00, 0x3c00, 0x3c02, 0x0001, 0x0000, 0x0002, 0x0400, 0x8000, 0x7e00]);
  });
  it('int32 / bool → float, float16 → float32', async () => {
    expect(await cpu.cast(new Tensor('int32', [-3, 0, 16777217], [3]), 'float32').toArray()).toEqual([-3, 0, 16777216]);
    expect(await cpu.cast(new Tensor('bool', [1, 0], [2]), 'float16').toArray()).toEqual([1, 0]);
    expect(await cpu.cast(new Tensor('float16', Uint16Array.from([0x0001, 0x7bff, 0xfc00]), [3]), 'float32').toArray()).toEqual([2 ** -24, 65504, -Infinity]);
  });
  it('rejects unsupported dtypes', () => {
    expect(() => cpu.cast(randn([2], 1), 'int8')).toThrow(/cast: float32 \[2\] → int8 is not supported/);
  });
});

describe.skipIf(!hasWebGpu)('webgpu cast vs cpu', () => {
  const DTYPES: DType[] = ['float32', 'float16', 'int32', 'bool'];
  for (const n of [1, 257, 1031]) {
    for (const from of DTYPES) {
      it(`${from} → every dtype [${n}]`, async () => {
        const g = await gpu();
        const x = sample(from, n, n + from.length);
        const xd = g.upload(x);
        for (const to of DTYPES) {
          const y = g.cast(xd, to);
          const r = cpu.cast(x, to);
          expect(y.dtype).toBe(to);
          expect(y.dims).toEqual([n]);
          if (to === 'float16') {
            // Bit-exact: the kernel rounds as the host's f32ToF16Bits (NaN included).
            expect(Array.from(await y.data<Uint16Array>()), `${from} → ${to}`).toEqual(Array.from(await r.data<Uint16Array>()));
          } else {
            // toEqual treats NaN as equal to NaN (float16 NaN payloads differ from JS's NaN).
            expect(await y.toArray(), `${from} → ${to}`).toEqual(await r.toArray());
          }
        }
      });
    }
  }
  it('every float16 bit pattern → float32 → float16 round-trips', async () => {
    const g = await gpu();
    const all = new Tensor('float16', Uint16Array.from({ length: 65536 }, (_, i) => i), [65536]);
    const f = g.cast(g.upload(all), 'float32');
    expect(await f.toArray()).toEqual(await cpu.cast(all, 'float32').toArray());
    const back = Array.from(await g.cast(f, 'float16').data<Uint16Array>());
    // NaNs come back as the signed canonical quiet NaN, as f32ToF16Bits gives; all else exactly.
    const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    expect(back).toEqual(Array.from({ length: 65536 }, (_, i) => (isNaN16(i) ? (i & 0x8000) | 0x7e00 : i)));
  });
  it('random float32 bit patterns → float16 equal f32ToF16Bits', async () => {
    const g = await gpu();
    const r = rng(99);
    const bits = Array.from({ length: 50001 }, () => Math.floor(r() * 2 ** 32));
    const x = new Tensor('float32', bitsF32(bits), [bits.length]);
    const got = Array.from(await g.cast(g.upload(x), 'float16').data<Uint16Array>());
    expect(got).toEqual(Array.from(x.hostData<Float32Array>(), f32ToF16Bits));
  });
  it('host int64 is narrowed to int32 first; unsupported targets are clear errors', async () => {
    const g = await gpu();
    expect(await g.cast(new Tensor('int64', [5n, -7n], [2]), 'float32').toArray()).toEqual([5, -7]);
    expect(() => g.cast(randn([2], 1), 'int64')).toThrow(/not supported on webgpu .*cast to int32/);
    expect(() => g.cast(randn([2], 1), 'uint8')).toThrow(/float32 \[2\] → uint8 is not supported/);
  });
});
