/**
 * The physical payloads of a tensor relation in SQL, and the rules that pick them. A third, 'blob' (one
 * opaque tile per row, kernels as DuckDB's registered functions: lower_blob.ts), applies to a whole plan;
 * 'auto' takes it for plans of few large tiles (prefersBlobs, below). Otherwise, per plan node:
 *
 * - scalar: one row per element of every present tile — key columns k0…, element-index columns i0…, a
 *   DOUBLE value v. Every kernel is plain SQL over it (kernels.ts), and it stores sparse tiles (an edge
 *   list's one-element tiles, one-hot labels bound from a table with only the 1s) without their zeros.
 * - tile: one row per present tile — key columns k0… and the tile's elements as a list `t` (DuckDB
 *   DOUBLE[], PostgreSQL float8[]) in row-major order of the tile's actual shape (edge tiles are ragged).
 *   Elementwise kernels run on it without touching rows (list_transform / unnest WITH ORDINALITY), a tile
 *   product reads row and column vectors straight out of it (list_slice with a stride, DuckDB), and it
 *   moves n elements as one row instead of n: less per-row work in joins, hash tables and spills.
 *
 * Conversions: a consumer that needs scalar rows reads a tile relation through `scalarView` (unnest with
 * positions); a node whose kernel is lowered on scalar rows but stored as tiles is gathered (`gatherTiles`:
 * list / array_agg ordered by the element indices, grouped by key). A tile holds every element, so only
 * relations whose tiles are statically complete may be stored as tiles (`completeTiles`): a bound table
 * without a tile column may leave elements out (one-hot labels: only the 1s), and so may what is computed
 * from it.
 *
 * The rule (`choosePayloads`, mode 'auto'; figures in BENCHMARKS.md, bench/sql_matmul.ts and
 * bench/sql_gcn.ts). Only relations whose tiles are complete (density 1 inside a tile; otherwise scalar
 * rows store only what is present) and hold at least TILE_PAYLOAD_MIN elements are candidates, on DuckDB
 * only (PostgreSQL unnests arrays for every kernel but the elementwise ones and has no vectorised dot
 * product). A candidate is stored as tiles when
 * - that costs no gather: it is lowered on its inputs' lists (an elementwise chain over relations already
 *   stored as tiles, e.g. bound tables with a tile column), or
 * - it is pulled: a list product reads it as slices of stored tiles and it has at least
 *   TILE_SLICE_MIN_ELEMENTS elements, or more than the executor's gatherMax (gathering its vectors with
 *   list() would hold the whole operand in
 *   aggregate states that cannot spill), or a pulled list-lowered consumer needs it as tiles.
 * Everything else stays in scalar rows: measured on in-memory plans whose inputs arrive as rows, gathering
 * into tiles and unnesting for the row-based kernels cost more than the lists save (dense products from
 * stored tiles 1.4–2.5× slower than gathering inside the statement, a GCN epoch 3× slower with every
 * relation stored as tiles). Bound tables keep the payload they are stored in.
 * 'tile' stores every node with complete tiles as tiles (the conformance suite forces it on both engines).
 */
import type { Node } from '../../tra/node.js';
import type { Schema } from '../../tra/schema.js';
import { stridesOf } from '../../tile.js';
import type { Dialect } from './engine.js';
import { sqlInt } from './ident.js';

/** 'blob': one opaque tile per row, computed by registered kernel functions (DuckDB; lower_blob.ts). */
export type Payload = 'scalar' | 'tile' | 'blob';
export type PayloadMode = 'scalar' | 'tile' | 'auto' | 'blob';

/**
 * Smallest tile stored as a list under 'auto': below it a list's per-row overhead outweighs the rows it
 * saves (the GCN's 40-element label tiles, 16-element hidden rows stay scalar).
 */
export const TILE_PAYLOAD_MIN = 64;
/**
 * A list product reads a relation's vectors as slices of its stored tiles only when the relation is at
 * least this large (key bounds × tile elements): below it, gathering the vectors from scalar rows
 * (list(v ORDER BY …)) is faster (slicing copies the tile per slice: bench/sql_matmul.ts), but the gather's
 * list() states hold the whole operand in memory and cannot spill (8 M elements fit in a 1 GB
 * memory_limit, 32 M did not), so large operands are stored as tiles and stream through the product.
 */
export const TILE_SLICE_MIN_ELEMENTS = 2 ** 22;

/**
 * 'auto' runs a plan in the blob payload (lower_blob.ts: one BLOB per tile, relml's kernels as DuckDB's
 * registered functions) when its relations are few tiles of real size: no relation has more than
 * BLOB_MAX_TILES keys (key bounds multiplied) and one has tiles of at least BLOB_MIN_TILE elements.
 * Measured (bench/sql_matmul.ts, BENCHMARKS.md): a product of one 32 × 32 tile each runs 3.7–5.4× faster
 * in blobs than with list_dot_product, 512 × 512 28–31×, 512 × 512 in 64 × 64 blocks 3.3–4.6×; a full-size
 * GCN epoch in the in-process tiling 4.4-5.7 s, where rows and lists on the fine tiling took 233-280 s. Plans with
 * a relation of very many small tiles (an edge list in one-element tiles: a function call and a blob per
 * element) stay in rows and lists, where SQL joins them faster than per-tile calls would.
 */
export const BLOB_MAX_TILES = 4096;
export const BLOB_MIN_TILE = 1024;

/** Whether 'auto' runs this plan in the blob payload (see BLOB_MAX_TILES). */
export function prefersBlobs(nodes: readonly Node[]): boolean {
  const keySpace = (s: Schema) => s.keys.reduce((p, b) => p * b, 1);
  return nodes.every((n) => keySpace(n.schema) <= BLOB_MAX_TILES) && nodes.some((n) => tileElems(n.schema) >= BLOB_MIN_TILE);
}

/** Key bounds × nominal tile elements: the relation's size if every key were present. */
export const denseElems = (s: Schema): number => s.keys.reduce((p, b) => p * b, 1) * tileElems(s);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Whether a tile dimension's last tile is shorter than the others. */
export const isRagged = (s: Schema): boolean => s.tile.some((t) => t.key !== null && t.extent % t.size !== 0);

/** The SQL size of tile dim d at the row's key (alias `x`): a constant unless the dim is ragged. */
export function dimSize(s: Schema, d: number, alias: string): string {
  const t = s.tile[d]!;
  if (t.key === null || t.extent % t.size === 0) return sqlInt(t.size);
  return `LEAST(${sqlInt(t.size)}, ${sqlInt(t.extent)} - ${alias}.k${sqlInt(t.key)} * ${sqlInt(t.size)})`;
}

/** Element-index expressions of a 0-based row-major position `p` inside the tile at the row's key. */
export function unflattenAt(s: Schema, p: string, alias: string, d: Dialect): string[] {
  if (!isRagged(s)) {
    const st = stridesOf(s.tile.map((t) => t.size));
    return s.tile.map((t, j) => `(${d.intDiv(p, sqlInt(st[j]))}) % ${sqlInt(t.size)}`);
  }
  return range(s.tile.length).map((j) => {
    const stride = range(s.tile.length).slice(j + 1).map((e) => dimSize(s, e, alias));
    const q = stride.length ? d.intDiv(p, `(${stride.join(' * ')})`) : p;
    return `(${q}) % (${dimSize(s, j, alias)})`;
  });
}

/** Number of elements of the tile at the row's key, as SQL (for bound checks). */
export function tileLength(s: Schema, alias: string): string {
  return s.tile.length ? s.tile.map((_, j) => dimSize(s, j, alias)).join(' * ') : '1';
}

/**
 * A tile-payload source read as scalar rows (k…, i…, v): one row per list element (`elements`: how to
 * unnest a row's values and their flat positions; the blob payload passes its functions').
 */
export function scalarView(from: string, s: Schema, d: Dialect, elements = { values: 'unnest(x.t)', positions: d.positions('x.t') }): string {
  const k = range(s.keys.length).map((j) => `x.k${j}`);
  const inner = `SELECT ${[...k.map((c, j) => `${c} AS k${j}`), `${elements.values} AS v`, `${elements.positions} AS p`].join(', ')} FROM ${from} AS x`;
  const idx = unflattenAt(s, 'u.p', 'u', d);
  return `(SELECT ${[...range(s.keys.length).map((j) => `u.k${j} AS k${j}`), ...idx.map((e, j) => `${e} AS i${j}`), 'u.v AS v'].join(', ')} FROM (${inner}) AS u)`;
}

/** A scalar-row SELECT gathered into one row per tile (keys, t), elements in row-major order. */
export function gatherTiles(select: string, s: Schema, d: Dialect): string {
  const keys = range(s.keys.length).map((j) => `g.k${j}`);
  const order = range(s.tile.length).map((j) => `g.i${j}`);
  const t = d.listAgg('g.v', order.length ? order.join(', ') : null);
  return `SELECT ${[...keys.map((c, j) => `${c} AS k${j}`), `${t} AS t`].join(', ')} FROM (${select}) AS g${keys.length ? ` GROUP BY ${keys.join(', ')}` : ' HAVING COUNT(*) > 0'}`;
}

/**
 * Whether every present tile of each node is complete (all its elements stored), from the plan alone:
 * relations loaded from memory and retiles (zero-filled) are; a bound table is when its tiles have one
 * element or it has a tile column (`tileInputs`); other nodes are when all their inputs are.
 */
export function completeTiles(nodes: readonly Node[], boundComplete: (n: Node) => boolean): Map<Node, boolean> {
  const out = new Map<Node, boolean>();
  for (const n of nodes) {
    let c: boolean;
    if (n.op === 'input') c = boundComplete(n);
    else if (n.op === 'const') c = true;
    else if (n.op === 'retile') c = true;
    // Concatenating ragged tiles leaves short tiles inside the output: keep those as scalar rows.
    else if (n.op === 'concat') c = n.inputs.every((x) => out.get(x) === true && !isRagged(x.schema));
    // 'second' is its right operand's tiles at the left operand's keys.
    else if (n.op === 'join' && (n.attrs.kernel as { name: string }).name === 'second') c = out.get(n.inputs[1]!) === true;
    else c = n.inputs.every((x) => out.get(x) === true);
    out.set(n, c);
  }
  return out;
}

/** Elements of one (nominal) tile. */
export const tileElems = (s: Schema): number => s.tile.reduce((p, t) => p * t.size, 1);

/**
 * The payload of every node (see the module comment for the rule). `fixed` gives nodes whose payload is
 * not ours to choose (bound tables).
 */
export function choosePayloads(nodes: readonly Node[], mode: PayloadMode, d: Dialect, complete: Map<Node, boolean>, fixed: (n: Node) => Payload | undefined,
  prefers: (n: Node, sofar: ReadonlyMap<Node, Payload>) => boolean): Map<Node, Payload> {
  const out = new Map<Node, Payload>();
  for (const n of nodes) {
    const f = fixed(n);
    if (f) { out.set(n, f); continue; }
    const ok = complete.get(n) === true;
    const tile = mode === 'tile' ? ok : mode === 'auto' ? ok && d.name === 'duckdb' && tileElems(n.schema) >= TILE_PAYLOAD_MIN && prefers(n, out) : false;
    out.set(n, tile ? 'tile' : 'scalar');
  }
  return out;
}
