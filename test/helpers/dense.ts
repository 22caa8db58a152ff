/**
 * An independent float64 reference for tests: einsum by brute force over every letter assignment, with
 * size-1 broadcasting. Deliberately naive, sharing no code with the library.
 */
export interface DenseCase { letters: string[][]; shapes: number[][]; output: string[] }

export function denseEinsum(c: DenseCase, data: Float64Array[] | number[][]): Float64Array {
  const sizes = new Map<string, number>();
  c.letters.forEach((ls, i) => ls.forEach((l, d) => sizes.set(l, Math.max(sizes.get(l) ?? 1, c.shapes[i]![d]!))));
  const all = [...sizes.keys()];
  const outShape = c.output.map((l) => sizes.get(l)!);
  const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const idx = new Map<string, number>();
  const offset = (ls: string[], shape: number[]) => ls.reduce((o, l, d) => o * shape[d]! + (shape[d] === 1 ? 0 : idx.get(l)!), 0);
  const rec = (k: number): void => {
    if (k === all.length) {
      // Repeated letters within an operand read its diagonal; the brute force does that naturally.
      let p = 1;
      c.letters.forEach((ls, i) => { p *= data[i]![offset(ls, c.shapes[i]!)]!; });
      out[offset(c.output, outShape)]! += p;
      return;
    }
    for (let v = 0; v < sizes.get(all[k]!)!; v++) { idx.set(all[k]!, v); rec(k + 1); }
  };
  rec(0);
  return out;
}

/** Deterministic pseudo-random numbers for test data: the library's seeded PRNG. */
export { mulberry32 as rng } from '../../src/data/loader.js';

export function randomData(n: number, r: () => number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** max |a-b| / max(1, |b|) elementwise. */
export function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return e;
}

/** A random tiling of a shape: each tile size in [1, n]. */
export function randomTiling(shape: readonly number[], r: () => number): number[] {
  return shape.map((n) => 1 + Math.floor(r() * Math.max(n, 1)));
}
