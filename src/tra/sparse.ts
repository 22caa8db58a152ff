/**
 * Sparse tensor relations: a matrix given by coordinates (COO) stored as a relation of block tiles in
 * compressed sparse rows (Tile.csr), keyed (row block, column block) like a dense tiling, with the
 * all-zero blocks absent. Kernels that take such tiles are in src/kernels/sparse.ts.
 */
import { SparseIndexError } from '../errors.js';
import '../kernels/sparse.js';
import { allocData, type DType, type Tile, type TileData } from '../tile.js';
import { Relation } from './relation.js';
import { denseSchema, denseShape, tileSizes } from './schema.js';

export interface Coo { rows: ArrayLike<number>; cols: ArrayLike<number>; values: ArrayLike<number> }

export interface SparseOptions { tile?: readonly [number, number]; dtype?: DType; name?: string }

/**
 * The relation of CSR block tiles holding a [n, m] matrix with the given nonzeros (duplicates add up).
 * `tile` is the block shape (default: one block of the whole matrix).
 */
export function sparseRelation(coo: Coo, shape: readonly [number, number], opts: SparseOptions = {}): Relation {
  const name = opts.name ?? 'sparse', dtype = opts.dtype ?? 'float32';
  const [n, m] = shape, nnz = coo.rows.length;
  if (coo.cols.length !== nnz || coo.values.length !== nnz) throw new SparseIndexError(name, `rows, cols and values have lengths ${nnz}, ${coo.cols.length} and ${coo.values.length}`);
  const schema = denseSchema([n, m], opts.tile ?? [Math.max(n, 1), Math.max(m, 1)], dtype);
  const [br, bc] = tileSizes(schema) as [number, number], nbc = schema.keys[1]!;
  // Counting sort by block, then by row inside each block: O(nnz + blocks + rows), no comparisons.
  const block = new Int32Array(nnz), count = new Int32Array(schema.keys[0]! * nbc + 1);
  for (let e = 0; e < nnz; e++) {
    const r = coo.rows[e]!, c = coo.cols[e]!;
    if (!Number.isInteger(r) || r < 0 || r >= n || !Number.isInteger(c) || c < 0 || c >= m) {
      throw new SparseIndexError(name, `entry ${e} at (${r}, ${c}) lies outside the shape [${n}, ${m}]`, { entry: e, row: r, col: c, shape: [n, m] });
    }
    block[e] = Math.floor(r / br) * nbc + Math.floor(c / bc);
    count[block[e]! + 1]++;
  }
  for (let b = 1; b < count.length; b++) count[b] += count[b - 1]!;
  const order = new Int32Array(nnz), fill = count.slice(0, -1);
  for (let e = 0; e < nnz; e++) order[fill[block[e]!]!++] = e;
  const rel = new Relation(schema, name);
  for (let b = 0; b + 1 < count.length; b++) {
    const lo = count[b]!, hi = count[b + 1]!;
    if (lo === hi) continue;
    const key = [Math.floor(b / nbc), b % nbc], rows = Math.min(br, n - key[0]! * br);
    const indptr = new Int32Array(rows + 1), indices = new Int32Array(hi - lo), vals = allocData(dtype, hi - lo);
    for (let p = lo; p < hi; p++) indptr[coo.rows[order[p]!]! - key[0]! * br + 1]++;
    for (let r = 0; r < rows; r++) indptr[r + 1] += indptr[r]!;
    const next = indptr.slice(0, -1);
    for (let p = lo; p < hi; p++) {
      const e = order[p]!, q = next[coo.rows[e]! - key[0]! * br]!++;
      indices[q] = coo.cols[e]! - key[1]! * bc;
      vals[q] = coo.values[e]!;
    }
    const tile: Tile = { shape: [rows, Math.min(bc, m - key[1]! * bc)], dtype, data: vals, csr: { indptr, indices } };
    rel.set(key, tile);
  }
  return rel;
}

/** The dense row-major matrix a relation of CSR tiles holds (for checks and small cases). */
export function sparseToDense(rel: Relation): { shape: number[]; data: TileData } {
  const shape = denseShape(rel.schema), [br, bc] = tileSizes(rel.schema) as [number, number], m = shape[1]!;
  const data = allocData(rel.schema.dtype, shape[0]! * m);
  for (const { key, tile } of rel.tuples()) {
    if (!tile.csr) throw new SparseIndexError(rel.name, `tile at key (${key.join(',')}) is dense, not CSR`, { key: [...key] });
    const { indptr, indices } = tile.csr;
    for (let i = 0; i + 1 < indptr.length; i++) {
      const row = (key[0]! * br + i) * m + key[1]! * bc;
      for (let p = indptr[i]!; p < indptr[i + 1]!; p++) data[row + indices[p]!] += tile.data[p]!;
    }
  }
  return { shape, data };
}
