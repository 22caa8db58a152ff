/**
 * The blob payload's bytes: one tile as one BLOB value, read and written only by relml's registered kernel
 * functions (duckdb_kernels.ts). SQL moves it as an opaque value, which DuckDB copies at memory speed
 * (a 21.7 M-element tile in 0.1 s, where the same elements as a DOUBLE[] list take 1.2 s).
 *
 * Layout (little-endian; every section starts on an 8-byte boundary):
 *   int32 header: MAGIC, kind (bit 0: CSR, bit 1: float32 values), rank, nnz (CSR) or 0, dims[rank],
 *                 padding to an even count
 *   dense: values × prod(dims), row-major
 *   CSR (rank 2 only): values × nnz, int32 indptr × (rows + 1), int32 indices × nnz
 * Values are float64, or float32 (a float32 plan's tiles: half the bytes to move, the in-process
 * executor's arithmetic).
 */
import { KernelError } from '../../errors.js';
import { allocData, sizeOf, type DType, type Tile } from '../../tile.js';

const MAGIC = 0x524c5431; // 'RLT1'
const CSR = 1, SINGLE = 2;

const headerInts = (rank: number): number => { const n = 4 + rank; return n + (n % 2); };

const view = (dtype: DType, buf: ArrayBufferLike, offset: number, n: number) => (dtype === 'float64' ? new Float64Array(buf, offset, n) : new Float32Array(buf, offset, n));

/** The bytes of a tile (dense, or CSR when it carries a pattern), values in its dtype. */
export function encodeTile(t: Tile): Uint8Array {
  const rank = t.shape.length, h = headerInts(rank), e = t.dtype === 'float64' ? 8 : 4, single = t.dtype === 'float64' ? 0 : SINGLE;
  if (t.csr) {
    const nnz = t.data.length, rows = t.csr.indptr.length - 1;
    const bytes = new Uint8Array(h * 4 + nnz * e + (rows + 1 + nnz) * 4);
    new Int32Array(bytes.buffer, 0, h).set([MAGIC, CSR | single, rank, nnz, ...t.shape]);
    view(t.dtype, bytes.buffer, h * 4, nnz).set(t.data);
    new Int32Array(bytes.buffer, h * 4 + nnz * e, rows + 1).set(t.csr.indptr);
    new Int32Array(bytes.buffer, h * 4 + nnz * e + (rows + 1) * 4, nnz).set(t.csr.indices);
    return bytes;
  }
  const n = sizeOf(t.shape);
  const bytes = new Uint8Array(h * 4 + n * e);
  new Int32Array(bytes.buffer, 0, h).set([MAGIC, single, rank, 0, ...t.shape]);
  view(t.dtype, bytes.buffer, h * 4, n).set(t.data);
  return bytes;
}

/** A tile from its bytes; `what` names the value in errors (a corrupt or foreign blob). */
export function decodeTile(raw: Uint8Array, what: string): Tile {
  // Typed-array views need aligned offsets: copy a blob that does not start on an 8-byte boundary.
  const bytes = raw.byteOffset % 8 === 0 ? raw : raw.slice();
  const bad = (why: string): never => { throw new KernelError('blob', `${what} is not a relml tile blob: ${why}`); };
  if (bytes.byteLength < 16) bad(`${bytes.byteLength} bytes`);
  const head0 = new Int32Array(bytes.buffer, bytes.byteOffset, 4);
  if (head0[0] !== MAGIC) bad('wrong magic number');
  const kind = head0[1]!, rank = head0[2]!, nnz = head0[3]!;
  if (rank < 0 || rank > 16 || kind < 0 || kind > 3 || ((kind & CSR) !== 0 && rank !== 2)) bad(`kind ${kind}, rank ${rank}`);
  const dtype: DType = kind & SINGLE ? 'float32' : 'float64', e = dtype === 'float64' ? 8 : 4;
  const h = headerInts(rank);
  const shape = [...new Int32Array(bytes.buffer, bytes.byteOffset + 16, rank)];
  if (shape.some((d) => d < 0)) bad(`shape [${shape.join(',')}]`);
  const base = bytes.byteOffset + h * 4;
  if ((kind & CSR) === 0) {
    const n = sizeOf(shape);
    if (bytes.byteLength !== h * 4 + n * e) bad(`${bytes.byteLength} bytes for shape [${shape.join(',')}]`);
    return { shape, dtype, data: view(dtype, bytes.buffer, base, n) };
  }
  const rows = shape[0]!;
  if (nnz < 0 || bytes.byteLength !== h * 4 + nnz * e + (rows + 1 + nnz) * 4) bad(`${bytes.byteLength} bytes for a CSR tile of ${nnz} nonzeros`);
  const data = view(dtype, bytes.buffer, base, nnz);
  const indptr = new Int32Array(bytes.buffer, base + nnz * e, rows + 1);
  const indices = new Int32Array(bytes.buffer, base + nnz * e + (rows + 1) * 4, nnz);
  return { shape, dtype, data, csr: { indptr, indices } };
}

/** Largest tile the kernel functions densify (a sparse operand of a kernel without a sparse form). */
export const MAX_DENSIFY = 2 ** 27;

/** A dense copy of a CSR tile (dense tiles pass through). */
export function densify(t: Tile, what: string): Tile {
  if (!t.csr) return t;
  const n = sizeOf(t.shape);
  if (n > MAX_DENSIFY) throw new KernelError('blob', `${what}: a sparse tile of shape [${t.shape.join(',')}] is too large to densify (${n} elements > ${MAX_DENSIFY}) for a kernel without a sparse form`);
  const cols = t.shape[1]!, out = allocData(t.dtype, n), { indptr, indices } = t.csr;
  for (let i = 0; i + 1 < indptr.length; i++) for (let p = indptr[i]!; p < indptr[i + 1]!; p++) out[i * cols + indices[p]!]! += t.data[p]!;
  return { shape: [...t.shape], dtype: t.dtype, data: out };
}

/** A CSR copy of a dense rank-2 tile (its nonzeros), for kernels that read sparse tiles (spmm); CSR passes through. */
export function sparsify(t: Tile, what: string): Tile {
  if (t.csr) return t;
  if (t.shape.length !== 2) throw new KernelError('blob', `${what}: a kernel reads a sparse tile here, got a dense tile of shape [${t.shape.join(',')}]`);
  const [rows, cols] = t.shape as [number, number];
  const indptr = new Int32Array(rows + 1);
  let nnz = 0;
  for (let e = 0; e < t.data.length; e++) if (t.data[e] !== 0) nnz++;
  const indices = new Int32Array(nnz), data = allocData(t.dtype, nnz);
  let q = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) { const v = t.data[i * cols + j]!; if (v !== 0) { indices[q] = j; data[q++] = v; } }
    indptr[i + 1] = q;
  }
  return { shape: [rows, cols], dtype: t.dtype, data, csr: { indptr, indices } };
}

/**
 * A tile from scattered elements: flat row-major positions and values (duplicates add up, as in a dense
 * assembly); CSR when `sparse` (rank 2), dense otherwise with zeros where nothing is given.
 */
export function assembleTile(shape: readonly number[], pos: ArrayLike<number | bigint>, vals: ArrayLike<number>, sparse: boolean, dtype: DType, what: string): Tile {
  const n = sizeOf(shape), m = vals.length;
  if (pos.length !== m) throw new KernelError('blob', `${what}: ${pos.length} positions for ${m} values`);
  const at = (e: number): number => {
    const p = Number(pos[e]!);
    if (!(p >= 0 && p < n)) throw new KernelError('blob', `${what}: element position ${p} lies outside the tile [${shape.join(',')}]`);
    return p;
  };
  if (!sparse || shape.length !== 2) {
    // Summed in float64 (duplicates), stored in dtype.
    const out = new Float64Array(n);
    for (let e = 0; e < m; e++) out[at(e)] += vals[e]!;
    return { shape: [...shape], dtype, data: dtype === 'float64' ? out : Float32Array.from(out) };
  }
  // Counting sort by row, then by column within each row; duplicates merged.
  const rows = shape[0]!, cols = shape[1]!;
  const r = new Int32Array(m), c = new Int32Array(m);
  const count = new Int32Array(rows + 1);
  for (let e = 0; e < m; e++) { const p = at(e); r[e] = Math.floor(p / cols); c[e] = p - r[e]! * cols; count[r[e]! + 1]++; }
  for (let i = 0; i < rows; i++) count[i + 1] += count[i]!;
  const next = count.slice(0, rows), order = new Int32Array(m);
  for (let e = 0; e < m; e++) order[next[r[e]!]!++] = e;
  const indptr = new Int32Array(rows + 1), indices = new Int32Array(m), data = new Float64Array(m);
  let nnz = 0;
  for (let i = 0; i < rows; i++) {
    let seg: ArrayLike<number> = order.subarray(count[i]!, count[i + 1]!);
    for (let q = 1; q < seg.length; q++) if (c[seg[q]!]! < c[seg[q - 1]!]!) { seg = Array.from(seg).sort((x, y) => c[x]! - c[y]!); break; }
    for (let q = 0; q < seg.length; q++) {
      const e = seg[q]!;
      if (nnz > indptr[i]! && indices[nnz - 1] === c[e]) data[nnz - 1] += vals[e]!;
      else { indices[nnz] = c[e]!; data[nnz] = vals[e]!; nnz++; }
    }
    indptr[i + 1] = nnz;
  }
  return { shape: [...shape], dtype, data: dtype === 'float64' ? data.slice(0, nnz) : Float32Array.from(data.subarray(0, nnz)), csr: { indptr, indices: indices.slice(0, nnz) } };
}
