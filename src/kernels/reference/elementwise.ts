/** Reference elementwise kernels: unary functions, broadcasting binary functions, and their derivatives. */
import { allocData, makeTile, type DType, type Tile } from '../../tile.js';
import { binaryAxes } from '../defs.js';
import { binaryForward, binaryPartials, unaryDerivative, unaryForward, type BinaryFn, type UnaryFn } from '../fns.js';
import { dot, forEachIndex, mappedStrides } from './strided.js';

type Attrs = Readonly<Record<string, unknown>>;

export function unaryTile(x: Tile, attrs: Attrs, dtype: DType): Tile {
  const f = unaryForward[attrs.fn as UnaryFn];
  const alpha = (attrs.alpha as number | undefined) ?? 0;
  const out = allocData(dtype, x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!, alpha);
  return makeTile(x.shape, dtype, out);
}

export function unaryGradTile(x: Tile, g: Tile, attrs: Attrs, dtype: DType): Tile {
  const df = unaryDerivative[attrs.fn as UnaryFn];
  const alpha = (attrs.alpha as number | undefined) ?? 0;
  const out = allocData(dtype, x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = g.data[i]! * df(x.data[i]!, alpha);
  return makeTile(x.shape, dtype, out);
}

/** Applies f(a, b) over the broadcast output index space given by the axis maps. */
function broadcastApply(name: string, a: Tile, b: Tile, attrs: Attrs, outShape: readonly number[], dtype: DType,
  f: (x: number, y: number) => number): Tile {
  const { a: am, b: bm, rank } = binaryAxes(name, attrs, [a.shape, b.shape]);
  const out = allocData(dtype, outShape.reduce((p, d) => p * d, 1));
  const identity = (m: number[]) => m.length === rank && m.every((x, i) => x === i);
  if (identity(am) && identity(bm)) {
    for (let i = 0; i < out.length; i++) out[i] = f(a.data[i]!, b.data[i]!);
  } else {
    const as = mappedStrides(a.shape, am, rank), bs = mappedStrides(b.shape, bm, rank);
    let o = 0;
    forEachIndex(outShape, (idx) => { out[o++] = f(a.data[dot(idx, as)]!, b.data[dot(idx, bs)]!); });
  }
  return makeTile(outShape, dtype, out);
}

export function binaryTile(a: Tile, b: Tile, attrs: Attrs, outShape: readonly number[], dtype: DType): Tile {
  return broadcastApply('binary', a, b, attrs, outShape, dtype, binaryForward[attrs.fn as BinaryFn]);
}

export function binaryPartialTile(a: Tile, b: Tile, attrs: Attrs, outShape: readonly number[], dtype: DType): Tile {
  const partial = binaryPartials[attrs.fn as BinaryFn][attrs.wrt === 1 ? 1 : 0];
  return broadcastApply('binaryPartial', a, b, attrs, outShape, dtype, partial);
}

/** fused: the first kernel, then each unary function in place on the (fresh) result. */
export function fusedTile(inputs: readonly Tile[], attrs: Attrs, outShape: readonly number[], dtype: DType): Tile {
  const first = attrs.first as { name: string; attrs: Attrs };
  const y = first.name === 'unary' ? unaryTile(inputs[0]!, first.attrs, dtype) : binaryTile(inputs[0]!, inputs[1]!, first.attrs, outShape, dtype);
  const d = y.data;
  for (const fn of attrs.then as UnaryFn[]) {
    const f = unaryForward[fn];
    for (let i = 0; i < d.length; i++) d[i] = f(d[i]!, 0);
  }
  return y;
}
