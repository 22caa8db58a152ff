/**
 * relml's tile kernels as DuckDB scalar functions, for the blob payload (blob.ts, lower_blob.ts): inside a
 * query DuckDB joins, groups and stores tiles; the functions run the same kernels as the in-process
 * executor (the 'ort' backend: onnxruntime's MLAS products, the WebAssembly sparse products) on them, in
 * the tiles' dtype (float64 when operands differ). This is the hybrid the plan chooses with payload
 * 'blob': dense tile math in BLAS-class kernels, sparse products in spmm, relational work in the engine.
 * PostgreSQL has no counterpart (a server cannot call back into Node), so the payload is DuckDB's alone.
 *
 *   relml_pack(shape INTEGER[], pos BIGINT[], vals DOUBLE[], sparse BOOLEAN, single BOOLEAN) -> BLOB
 *       a tile from scattered elements (flat row-major positions; CSR when sparse and rank 2; float32
 *       values when single)
 *   relml_map(call INTEGER, t BLOB) -> BLOB                 a one-tile kernel
 *   relml_join(call INTEGER, a BLOB, b BLOB) -> BLOB        a two-tile kernel
 *   relml_agg(fn INTEGER, ts BLOB[]) -> BLOB                elementwise sum (0), max (1) or min (2)
 *   relml_values(t BLOB) -> DOUBLE[], relml_positions(t BLOB) -> BIGINT[], relml_shape(t BLOB) -> INTEGER[]
 *       a tile's stored elements and their flat positions (its scalar rows)
 *
 * A kernel call is passed as an integer id into this connection's call table (`KernelCalls.id`): kernel
 * attributes (einsum specs, function names) never become SQL text.
 */
import { DuckDBScalarFunction, BIGINT, BLOB, BOOLEAN, DOUBLE, INTEGER, LIST, type DuckDBConnection, type DuckDBVector, type DuckDBListVector, type DuckDBBlobVector } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { KernelError, RelmlError } from '../../errors.js';
import { applyKernel, kernelDef, type KernelCall } from '../../kernels/registry.js';
import { REFERENCE } from '../../kernels/reference/index.js';
import { ORT, ortAvailable } from '../../kernels/ort/index.js';
import '../../kernels/sparse.js';
import { parseTileSpec } from '../../kernels/tile_spec.js';
import { castTile, type DType, type Tile } from '../../tile.js';
import { assembleTile, decodeTile, densify, encodeTile, sparsify } from './blob.js';

/** The kernel calls of one connection, by id. */
export class KernelCalls {
  private readonly calls: KernelCall[] = [];
  private readonly ids = new Map<string, number>();
  /** The id of `call` (the same call gets the same id). */
  id(call: KernelCall): number {
    const key = JSON.stringify(call);
    let id = this.ids.get(key);
    if (id === undefined) { id = this.calls.length; this.calls.push(call); this.ids.set(key, id); }
    return id;
  }
  get(id: number): KernelCall {
    const c = this.calls[id];
    if (!c) throw new KernelError('relml_kernel', `unknown kernel call id ${id}`);
    return c;
  }
}

/** Time spent in each function (ms: the whole call; kernelMs: inside relml's kernels), for profiles. */
const stats = new Map<string, { calls: number; rows: number; ms: number; kernelMs: number }>();
let kernelMs = 0;
const timed = <T>(f: () => T): T => { const t0 = performance.now(); try { return f(); } finally { kernelMs += performance.now() - t0; } };

/** The functions' times since the last call, one line each (bench/sql_gcn.ts --profile); resets them. */
export function kernelFunctionProfile(): string {
  const lines = [...stats].sort((a, b) => b[1].ms - a[1].ms).map(([n, s]) => `${n}: ${s.calls} call(s), ${s.rows} row(s), ${(s.ms / 1000).toFixed(2)} s (${(s.kernelMs / 1000).toFixed(2)} s in kernels)`);
  stats.clear();
  return lines.join('\n');
}

/** Aggregate function codes of relml_agg. */
export const AGG_CODE = { sum: 0, max: 1, min: 2 } as const;

const backend = (): string => (ortAvailable().ok ? ORT : REFERENCE);

/** The elements of list `row` of a list vector, as a view of its child's typed array. */
function listItems<T extends ArrayLike<unknown>>(vec: DuckDBListVector, row: number): T {
  const off = vec.getEntryOffset(row), len = vec.getEntryLength(row);
  return (vec.childVector as unknown as { items: { subarray(a: number, b: number): T } }).items.subarray(off, off + len);
}

function blobAt(vec: DuckDBVector, row: number, what: string): Tile {
  const bytes = (vec as DuckDBBlobVector).getItemBytes(row);
  if (bytes === null) throw new KernelError('relml_kernel', `${what} is NULL`);
  return decodeTile(bytes, what);
}

/** Writes one typed array per row into a LIST output vector in one copy per row. */
function writeLists(output: DuckDBVector, rows: readonly (Float64Array | BigInt64Array | Int32Array)[]): void {
  const raw = (output as unknown as { vector: duckdb.Vector }).vector;
  let total = 0;
  for (const r of rows) total += r.length;
  duckdb.list_vector_reserve(raw, total);
  duckdb.list_vector_set_size(raw, total);
  const child = duckdb.list_vector_get_child(raw);
  const entries = new BigUint64Array(rows.length * 2);
  let off = 0;
  rows.forEach((r, j) => {
    if (r.length) duckdb.copy_data_to_vector(child, off * r.BYTES_PER_ELEMENT, r.buffer as ArrayBuffer, r.byteOffset, r.byteLength);
    entries[2 * j] = BigInt(off);
    entries[2 * j + 1] = BigInt(r.length);
    off += r.length;
  });
  duckdb.copy_data_to_vector(raw, 0, entries.buffer, 0, entries.byteLength);
}

/** Writes one blob per row: a tile (encoded here) or bytes passed through unchanged. */
function writeBlobs(output: DuckDBVector, tiles: readonly (Tile | Uint8Array)[]): void {
  tiles.forEach((t, r) => output.setItem(r, { bytes: t instanceof Uint8Array ? t : encodeTile(t) } as never));
  output.flush();
}

/**
 * An einsum of a sparse (CSR) and a dense matrix tile as spmm / spmmT when the spec is a plain product
 * (A·D or Aᵀ·D with A sparse); null for any other spec.
 */
function sparseEinsum(call: KernelCall, a: Tile, b: Tile): Tile | null {
  if (call.name !== 'einsum' || !!a.csr === !!b.csr) return null;
  const { inputs, output } = parseTileSpec(call.attrs.spec as string);
  if (inputs.length !== 2 || output.length !== 2 || inputs.some((s) => s.length !== 2 || s[0] === s[1])) return null;
  const [S, D, sparse, dense] = a.csr ? [inputs[0]!, inputs[1]!, a, b] : [inputs[1]!, inputs[0]!, b, a];
  const spmm = { name: 'spmm', attrs: {} }, spmmT = { name: 'spmmT', attrs: {} };
  // out[i,k] = Σ_j S[i,j] D[j,k]
  const dt = dtypeOf([a, b]);
  if (S[1] === D[0] && output === S[0]! + D[1]! && D[1] !== S[0]) return applyKernel(backend(), spmm, [sparse, dense], dt);
  // out[j,k] = Σ_i S[i,j] D[i,k]
  if (S[0] === D[0] && output === S[1]! + D[1]! && D[1] !== S[1]) return applyKernel(backend(), spmmT, [dense, sparse], dt);
  return null;
}

/** The dtype a kernel computes in: its operands', float64 when they differ. */
const dtypeOf = (ts: readonly Tile[]): DType => (ts.every((t) => t.dtype === 'float32') ? 'float32' : 'float64');

/** Operand `j` of `call` in the form the kernel reads: CSR where it declares a sparse input (spmm), dense elsewhere. */
function operand(call: KernelCall, t: Tile, j: number): Tile {
  const what = `${call.name} input ${j}`;
  return kernelDef(call.name).sparseInputs?.includes(j) ? sparsify(t, what) : densify(t, what);
}

/** A two-tile kernel ('second' never gets here: the lowering reads the right tile directly). */
function runJoin(call: KernelCall, a: Tile, b: Tile): Tile {
  const s = timed(() => sparseEinsum(call, a, b));
  if (s) return s;
  const dt = dtypeOf([a, b]);
  const ins = [a, b].map((t, j) => castTile(operand(call, t, j), dt));
  return timed(() => applyKernel(backend(), call, ins, dt));
}

function runAgg(fn: number, tiles: readonly Tile[]): Tile {
  const first = densify(tiles[0]!, 'relml_agg input');
  const out = first.dtype === 'float64' ? Float64Array.from(first.data) : Float32Array.from(first.data);
  for (let j = 1; j < tiles.length; j++) {
    const t = densify(tiles[j]!, 'relml_agg input');
    if (t.data.length !== out.length) throw new KernelError('relml_agg', `tiles of ${t.data.length} and ${out.length} elements in one group`);
    const x = t.data;
    if (fn === AGG_CODE.sum) for (let e = 0; e < out.length; e++) out[e] += x[e]!;
    else if (fn === AGG_CODE.max) for (let e = 0; e < out.length; e++) out[e] = Math.max(out[e]!, x[e]!);
    else for (let e = 0; e < out.length; e++) out[e] = Math.min(out[e]!, x[e]!);
  }
  return { shape: [...first.shape], dtype: first.dtype, data: out };
}

/** The flat row-major positions of a tile's stored elements (relml_values gives them in this order). */
function positionsOf(t: Tile): BigInt64Array {
  const pos = new BigInt64Array(t.data.length);
  if (!t.csr) { for (let e = 0; e < pos.length; e++) pos[e] = BigInt(e); return pos; }
  const cols = t.shape[1]!, { indptr, indices } = t.csr;
  for (let i = 0; i + 1 < indptr.length; i++) for (let p = indptr[i]!; p < indptr[i + 1]!; p++) pos[p] = BigInt(i * cols + indices[p]!);
  return pos;
}

/**
 * Wraps a function body: errors become DuckDB query errors whose text names the function and the cause
 * (the executor adds the plan node), never a crash of the process.
 */
function guarded(name: string, body: (input: { rowCount: number; getColumnVector(i: number): DuckDBVector }, output: DuckDBVector) => void) {
  return (_info: unknown, input: { rowCount: number; getColumnVector(i: number): DuckDBVector }, output: DuckDBVector): void => {
    const t0 = performance.now(), k0 = kernelMs;
    try { body(input, output); } catch (e) {
      const msg = e instanceof RelmlError ? e.message : e instanceof Error ? e.message : String(e);
      throw new Error(`${name}: ${msg}`);
    } finally {
      const st = stats.get(name) ?? { calls: 0, rows: 0, ms: 0, kernelMs: 0 };
      st.calls++; st.rows += input.rowCount; st.ms += performance.now() - t0; st.kernelMs += kernelMs - k0;
      stats.set(name, st);
    }
  };
}

/** Registers the functions on `conn` and returns the call table they read. */
export function registerKernelFunctions(conn: DuckDBConnection): KernelCalls {
  const calls = new KernelCalls();
  const reg = (name: string, parameterTypes: Parameters<typeof DuckDBScalarFunction.create>[0]['parameterTypes'], returnType: Parameters<typeof DuckDBScalarFunction.create>[0]['returnType'],
    body: Parameters<typeof guarded>[1]) => conn.registerScalarFunction(DuckDBScalarFunction.create({ name, parameterTypes, returnType, mainFunction: guarded(name, body) as never }));
  reg('relml_pack', [LIST(INTEGER), LIST(BIGINT), LIST(DOUBLE), BOOLEAN, BOOLEAN], BLOB, (input, output) => {
    const [sh, ps, vs, sp, single] = [0, 1, 2, 3, 4].map((c) => input.getColumnVector(c));
    const out: Tile[] = [];
    for (let r = 0; r < input.rowCount; r++) {
      const shape = [...listItems<Int32Array>(sh as DuckDBListVector, r)];
      out.push(assembleTile(shape, listItems<BigInt64Array>(ps as DuckDBListVector, r), listItems<Float64Array>(vs as DuckDBListVector, r), sp!.getItem(r) === true, single!.getItem(r) === true ? 'float32' : 'float64', 'relml_pack'));
    }
    writeBlobs(output, out);
  });
  reg('relml_map', [INTEGER, BLOB], BLOB, (input, output) => {
    const ids = input.getColumnVector(0), ts = input.getColumnVector(1), out: Tile[] = [];
    for (let r = 0; r < input.rowCount; r++) {
      const call = calls.get(ids.getItem(r) as number);
      const x = operand(call, blobAt(ts, r, `${call.name} input`), 0);
      out.push(timed(() => applyKernel(backend(), call, [x], x.dtype)));
    }
    writeBlobs(output, out);
  });
  reg('relml_join', [INTEGER, BLOB, BLOB], BLOB, (input, output) => {
    const ids = input.getColumnVector(0), as = input.getColumnVector(1), bs = input.getColumnVector(2), out: Tile[] = [];
    for (let r = 0; r < input.rowCount; r++) {
      const call = calls.get(ids.getItem(r) as number);
      out.push(runJoin(call, blobAt(as, r, `${call.name} input 0`), blobAt(bs, r, `${call.name} input 1`)));
    }
    writeBlobs(output, out);
  });
  reg('relml_agg', [INTEGER, LIST(BLOB)], BLOB, (input, output) => {
    const fns = input.getColumnVector(0), lists = input.getColumnVector(1) as DuckDBListVector, out: (Tile | Uint8Array)[] = [];
    for (let r = 0; r < input.rowCount; r++) {
      const off = lists.getEntryOffset(r), len = lists.getEntryLength(r);
      if (len === 0) throw new KernelError('relml_agg', 'an empty group');
      if (len === 1) { out.push((lists.childVector as DuckDBBlobVector).getItemBytes(off)!); continue; } // nothing to add up
      const tiles = Array.from({ length: len }, (_, e) => blobAt(lists.childVector, off + e, 'relml_agg input'));
      out.push(runAgg(fns.getItem(r) as number, tiles));
    }
    writeBlobs(output, out);
  });
  reg('relml_shape', [BLOB], LIST(INTEGER), (input, output) => {
    const ts = input.getColumnVector(0);
    writeLists(output, Array.from({ length: input.rowCount }, (_, r) => Int32Array.from(blobAt(ts, r, 'relml_shape input').shape)));
  });
  reg('relml_values', [BLOB], LIST(DOUBLE), (input, output) => {
    const ts = input.getColumnVector(0);
    writeLists(output, Array.from({ length: input.rowCount }, (_, r) => Float64Array.from(blobAt(ts, r, 'relml_values input').data)));
  });
  reg('relml_positions', [BLOB], LIST(BIGINT), (input, output) => {
    const ts = input.getColumnVector(0);
    writeLists(output, Array.from({ length: input.rowCount }, (_, r) => positionsOf(blobAt(ts, r, 'relml_positions input'))));
  });
  return calls;
}


