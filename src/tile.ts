/**
 * Dense tiles: the payload of a tensor relation's tuples. Row-major, contiguous, float32 by default and
 * float64 for checking. A tile is immutable by convention: kernels always allocate their output.
 */
import { ShapeError } from './errors.js';

export type DType = 'float32' | 'float64';
export type TileData = Float32Array | Float64Array;

export interface Tile {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TileData;
  /**
   * Present on a sparse tile (rank 2, compressed sparse rows): `data` then holds only the nonzeros, row
   * r's at [indptr[r], indptr[r+1]) with their columns in `indices`. Only kernels that declare the
   * input sparse (KernelDef.sparseInputs, src/kernels/sparse.ts) may read one.
   */
  readonly csr?: { readonly indptr: Int32Array; readonly indices: Int32Array };
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocData(dtype: DType, n: number): TileData {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export function makeTile(shape: readonly number[], dtype: DType = 'float32', data?: TileData | ArrayLike<number>): Tile {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`tile shape [${shape.join(',')}] has a dimension that is not a non-negative integer`, { shape: [...shape] });
  }
  const n = sizeOf(shape);
  let out: TileData;
  if (data === undefined) out = allocData(dtype, n);
  else {
    if (data.length !== n) throw new ShapeError(`tile data has ${data.length} elements, shape [${shape.join(',')}] needs ${n}`, { shape: [...shape], length: data.length });
    out = (dtype === 'float64' ? data instanceof Float64Array : data instanceof Float32Array) ? (data as TileData) : (dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data));
  }
  return { shape: [...shape], dtype, data: out };
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function castTile(t: Tile, dtype: DType): Tile {
  if (t.dtype === dtype) return t;
  if (t.csr) return { shape: t.shape, dtype, data: dtype === 'float64' ? Float64Array.from(t.data) : Float32Array.from(t.data), csr: t.csr };
  return makeTile(t.shape, dtype, t.data);
}

/** Copies a box `[start, start+extent)` of `src` into `dst` at `dstStart`. Both tiles share rank. */
export function copyBox(src: Tile, srcStart: readonly number[], dst: { shape: readonly number[]; data: TileData },
  dstStart: readonly number[], extent: readonly number[]): void {
  // A sparse tile's data is not row-major: re-tiling or assembling one densely would read garbage.
  if (src.csr) throw new ShapeError(`a sparse (CSR) tile of shape [${src.shape.join(',')}] cannot be copied densely; convert it with sparseToDense`, { shape: [...src.shape] });
  const r = extent.length;
  if (r === 0) { dst.data[0] = src.data[0]!; return; }
  const ss = stridesOf(src.shape), ds = stridesOf(dst.shape);
  const idx = new Array<number>(r).fill(0);
  if (extent.some((e) => e <= 0)) return;
  const inner = extent[r - 1]!;
  for (;;) {
    let so = 0, doff = 0;
    for (let d = 0; d < r; d++) { so += (srcStart[d]! + idx[d]!) * ss[d]!; doff += (dstStart[d]! + idx[d]!) * ds[d]!; }
    for (let k = 0; k < inner; k++) dst.data[doff + k] = src.data[so + k]!;
    let d = r - 2;
    for (; d >= 0; d--) { if (++idx[d]! < extent[d]!) break; idx[d] = 0; }
    if (d < 0) break;
  }
}
