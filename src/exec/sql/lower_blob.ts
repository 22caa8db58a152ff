/**
 * Lowering in the blob payload (DuckDB; blob.ts, duckdb_kernels.ts): a relation is a table of one row per
 * present tile — key columns k0… and the tile as a BLOB `t` — and every kernel is a call of a registered
 * function on whole tiles, so DuckDB does the relational work (joins on keys, GROUP BY, storage) and
 * relml's kernels the math:
 * - map       -> relml_map(call, x.t)
 * - join      -> the key join, relml_join(call, l.t, r.t) ('second' is r.t)
 * - aggregate -> GROUP BY the kept keys, relml_agg(fn, list(t)); a sum of a join read only by it is one
 *                statement: relml_agg(0, list(relml_join(…))) grouped straight off the key join
 * - rekey, filter, concat -> key arithmetic, the tile untouched (lower_tile.ts writes the same SQL)
 * - anything else (retile) -> the scalar lowering over the tiles' elements (relml_values /
 *   relml_positions), packed back into tiles by relml_pack.
 */
import type { KernelCall } from '../../kernels/registry.js';
import type { Node } from '../../tra/node.js';
import type { AggFn } from '../../tra/ops/aggregate.js';
import type { Schema } from '../../tra/schema.js';
import type { DType } from '../../tile.js';
import type { Dialect } from './engine.js';
import { sqlInt } from './ident.js';
import { AGG_CODE } from './duckdb_kernels.js';
import { groupClause, kcols, type Ctx } from './kernels.js';
import { joinParts, joinSelect, lowerTile, sel } from './lower_tile.js';
import { dimSize, scalarView, tileElems } from './payload.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** What the blob lowering needs besides the usual context: the connection's kernel-call ids. */
export interface BlobCtx extends Ctx {
  readonly callId: (call: KernelCall) => number;
}

function joinTile(join: Node, ctx: BlobCtx): string {
  const call = join.attrs.kernel as KernelCall;
  return call.name === 'second' ? 'r.t' : `relml_join(${sqlInt(ctx.callId(call))}, l.t, r.t)`;
}

/** The blob SELECT computing `node` from blob inputs, or null when it needs the scalar fallback. */
export function lowerBlob(node: Node, inputs: readonly string[], ctx: BlobCtx): string | null {
  const a = node.attrs;
  switch (node.op) {
    case 'map': {
      const call = a.kernel as KernelCall;
      return `SELECT ${sel(kcols('x', node.schema.keys.length), `relml_map(${sqlInt(ctx.callId(call))}, x.t)`)} FROM ${inputs[0]} AS x`;
    }
    case 'join': return joinSelect(node, inputs, joinTile(node, ctx));
    case 'aggregate': {
      const groupBy = a.groupBy as number[], fn = a.fn as AggFn;
      const code = AGG_CODE[fn as keyof typeof AGG_CODE];
      if (code === undefined) return null;
      if (node.inputs.length === 1 && oneTuplePerGroup(node.inputs[0]!.schema.keys, groupBy)) return `SELECT ${sel(groupBy.map((p) => `x.k${sqlInt(p)}`), 'x.t')} FROM ${inputs[0]} AS x`;
      const nk = node.inputs[0]!.schema.keys.length;
      const union = inputs.map((f, j) => `SELECT ${[...range(nk).map((k) => `s${j}.k${k}`), `s${j}.t`].join(', ')} FROM ${f} AS s${j}`).join(' UNION ALL ');
      const kept = groupBy.map((p) => `u.k${sqlInt(p)}`);
      return `SELECT ${sel(kept, `relml_agg(${code}, list(u.t))`)} FROM (${union}) AS u${groupClause(kept)}`;
    }
    case 'rekey': case 'filter': case 'concat':
      return lowerTile(node, inputs, { ...ctx, isTile: () => true });
    default: return null;
  }
}

/**
 * Whether grouping a relation with these key bounds by the key positions `groupBy` leaves one tuple per
 * group: every dropped key dimension has bound 1 (a sum over it adds nothing up, it only drops the key).
 */
const oneTuplePerGroup = (bounds: readonly number[], groupBy: readonly number[]): boolean => bounds.every((b, p) => b === 1 || groupBy.includes(p));

/** A sum aggregation of `join` (read by nothing else) as one statement over the join's inputs. */
export function lowerBlobFused(node: Node, join: Node, joinInputs: readonly string[], ctx: BlobCtx): string {
  const { keys, conds } = joinParts(join);
  const groupBy = node.attrs.groupBy as number[], kept = groupBy.map((p) => keys[p]!);
  const from = `${joinInputs[0]} AS l JOIN ${joinInputs[1]} AS r ON ${conds.length ? conds.join(' AND ') : 'TRUE'}`;
  if (oneTuplePerGroup(join.schema.keys, groupBy)) return `SELECT ${sel(kept, joinTile(join, ctx))} FROM ${from}`;
  return `SELECT ${sel(kept, `relml_agg(${AGG_CODE.sum}, list(${joinTile(join, ctx)}))`)} FROM ${from}${groupClause(kept)}`;
}

/** A blob source read as scalar rows (k…, i…, v): the tiles' stored elements. */
export function blobScalarView(from: string, s: Schema, d: Dialect): string {
  return scalarView(from, s, d, { values: 'unnest(relml_values(x.t))', positions: 'unnest(relml_positions(x.t))' });
}

/**
 * Tiles below this many elements are packed dense even when elements are missing (a CSR pattern costs
 * more than it saves on small tiles, and only rank-2 tiles have one).
 */
export const SPARSE_PACK_MIN = 4096;

/**
 * A scalar-row SELECT (k…, i…, v) packed into one blob per tile of `dtype`: missing elements are zeros,
 * and an incomplete rank-2 tile of at least SPARSE_PACK_MIN elements is kept sparse (CSR).
 */
export function packTiles(select: string, s: Schema, complete: boolean, dtype: DType): string {
  const keys = range(s.keys.length).map((j) => `g.k${j}`);
  const dims = range(s.tile.length).map((j) => dimSize(s, j, 'g'));
  const shape = `CAST([${dims.join(', ')}] AS INTEGER[])`;
  let pos = '0';
  dims.forEach((n, j) => { pos = j === 0 ? `CAST(g.i0 AS BIGINT)` : `(${pos}) * (${n}) + g.i${j}`; });
  const sparse = !complete && s.tile.length === 2 && tileElems(s) >= SPARSE_PACK_MIN;
  return `SELECT ${sel(keys, `relml_pack(${shape}, list(CAST(${pos} AS BIGINT)), list(CAST(g.v AS DOUBLE)), ${sparse ? 'TRUE' : 'FALSE'}, ${dtype === 'float32' ? 'TRUE' : 'FALSE'})`)} FROM (${select}) AS g${groupClause(keys)}`;
}

/** A tile-payload (list) source packed into blobs, one per row. */
export function packLists(from: string, s: Schema, dtype: DType): string {
  const keys = range(s.keys.length).map((j) => `g.k${j}`);
  const shape = `CAST([${range(s.tile.length).map((j) => dimSize(s, j, 'g')).join(', ')}] AS INTEGER[])`;
  return `SELECT ${sel(keys, `relml_pack(${shape}, CAST(range(len(g.t)) AS BIGINT[]), g.t, FALSE, ${dtype === 'float32' ? 'TRUE' : 'FALSE'})`)} FROM ${from} AS g`;
}
