/**
 * Reference tile einsum. Unary specs (transpose, diagonal, sums) run one generic strided loop over the
 * distinct letters. Binary specs first reduce each operand to the letters it shares or keeps, then run a
 * batched [b,m,k]x[b,k,n] product accumulated in float64: simple, and fast enough for tests and examples.
 */
import { allocData, makeTile, type DType, type Tile } from '../../tile.js';
import { letterSizes, parseTileSpec } from '../tile_spec.js';
import { dot, forEachIndex, mappedStrides } from './strided.js';

/** out[outLetters] = sum over the other letters of x[inLetters] (repeated input letters read the diagonal). */
export function unaryEinsum(x: Tile, inLetters: string, outLetters: string, dtype: DType = x.dtype): Tile {
  const letters = [...new Set(inLetters)];
  const sizes = letterSizes(`${inLetters}->${outLetters}`, [x.shape]);
  const space = letters.map((c) => sizes.get(c)!);
  const inStr = mappedStrides(x.shape, [...inLetters].map((c) => letters.indexOf(c)), letters.length);
  const outShape = [...outLetters].map((c) => sizes.get(c)!);
  const outStr = mappedStrides(outShape, [...outLetters].map((c) => letters.indexOf(c)), letters.length);
  const acc = new Float64Array(outShape.reduce((a, b) => a * b, 1));
  const xd = x.data;
  forEachIndex(space, (idx) => { acc[dot(idx, outStr)]! += xd[dot(idx, inStr)]!; });
  return makeTile(outShape, dtype, dtype === 'float64' ? acc : Float32Array.from(acc));
}

/** Batched matmul on contiguous [B,M,K] x [B,K,N] -> [B,M,N], float64 accumulation. */
export function batchedMatmul(a: ArrayLike<number>, b: ArrayLike<number>, B: number, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(B * M * N);
  for (let t = 0; t < B; t++) {
    const ao = t * M * K, bo = t * K * N, co = t * M * N;
    for (let i = 0; i < M; i++) {
      const crow = co + i * N;
      for (let k = 0; k < K; k++) {
        const av = a[ao + i * K + k]!;
        if (av === 0) continue;
        const brow = bo + k * N;
        for (let j = 0; j < N; j++) c[crow + j]! += av * b[brow + j]!;
      }
    }
  }
  return c;
}

export function einsumTiles(spec: string, tiles: readonly Tile[], dtype: DType): Tile {
  const { inputs, output } = parseTileSpec(spec);
  if (inputs.length === 1) return unaryEinsum(tiles[0]!, inputs[0]!, output, dtype);
  if (inputs.length !== 2) {
    // n-ary tile specs are folded left to right; the front end only emits unary and binary ones.
    const [first, ...rest] = inputs;
    let acc = tiles[0]!, accLetters = first!;
    rest.forEach((letters, i) => {
      const later = rest.slice(i + 1).join('') + output;
      const keep = [...new Set(accLetters + letters)].filter((c) => later.includes(c)).join('');
      acc = einsumTiles(`${accLetters},${letters}->${keep}`, [acc, tiles[i + 1]!], 'float64');
      accLetters = keep;
    });
    return unaryEinsum(acc, accLetters, output, dtype);
  }
  const sizes = letterSizes(spec, tiles.map((t) => t.shape));
  const [la, lb] = inputs as [string, string];
  const inA = (c: string) => la.includes(c), inB = (c: string) => lb.includes(c), inO = (c: string) => output.includes(c);
  const all = [...new Set(la + lb)];
  const batch = all.filter((c) => inA(c) && inB(c) && inO(c)).join('');
  const m = all.filter((c) => inA(c) && !inB(c) && inO(c)).join('');
  const n = all.filter((c) => !inA(c) && inB(c) && inO(c)).join('');
  const k = all.filter((c) => inA(c) && inB(c) && !inO(c)).join('');
  const prod = (ls: string) => [...ls].reduce((p, c) => p * sizes.get(c)!, 1);
  const A = unaryEinsum(tiles[0]!, la, batch + m + k, 'float64');
  const Bt = unaryEinsum(tiles[1]!, lb, batch + k + n, 'float64');
  const C = batchedMatmul(A.data, Bt.data, prod(batch), prod(m), prod(k), prod(n));
  const cShape = [...(batch + m + n)].map((c) => sizes.get(c)!);
  const cTile = makeTile(cShape, 'float64', C);
  if (batch + m + n === output) return dtype === 'float64' ? cTile : makeTile(cShape, dtype, Float32Array.from(C));
  return unaryEinsum(cTile, batch + m + n, output, dtype);
}

/** d/dx of a unary einsum: scatter g back onto x's layout (diagonal entries only, where x repeats letters). */
export function einsumGradTile(spec: string, x: Tile, g: Tile, dtype: DType): Tile {
  const { inputs, output } = parseTileSpec(spec);
  const inLetters = inputs[0]!;
  const letters = [...new Set(inLetters)];
  const sizes = letterSizes(spec, [x.shape]);
  const space = letters.map((c) => sizes.get(c)!);
  const xStr = mappedStrides(x.shape, [...inLetters].map((c) => letters.indexOf(c)), letters.length);
  const gStr = mappedStrides(g.shape, [...output].map((c) => letters.indexOf(c)), letters.length);
  const out = allocData(dtype, x.data.length);
  const gd = g.data;
  forEachIndex(space, (idx) => { out[dot(idx, xStr)] = gd[dot(idx, gStr)]!; });
  return makeTile(x.shape, dtype, out);
}
