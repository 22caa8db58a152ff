/**
 * The SQL executor: runs a TRA plan (forward or gradient) inside a database. Every node becomes one
 * session-local table filled by one INSERT … SELECT (lower.ts), inside one transaction that is rolled back
 * at the end of `run`, so a run leaves the database exactly as it found it; outputs are read back as
 * relations. Inputs are bound to relations / dense tensors (loaded as parameters through the engine's bulk
 * path) or to existing tables (`SqlTable`: validated, quoted names, read in place).
 *
 * Payload representation (payload.ts). A relation is stored either as scalar rows (one row per element:
 * keys, element indices, DOUBLE value — every kernel of src/kernels/defs.ts is plain SQL over them, and
 * sparse relations want them) or as tiles (one row per tile: keys and a DOUBLE[] / float8[] list,
 * row-major). `payload` chooses per node ('auto': the rule in payload.ts; 'scalar'; 'tile' wherever tiles
 * are complete); bound tables keep theirs (SqlTable `tile`). Nodes stored as tiles are lowered on the
 * lists where the operator allows it (lower_tile.ts), read as list slices by DuckDB's tile products
 * (kernels.ts tileVectors), and otherwise unnested for a scalar lowering and gathered back. On DuckDB,
 * dense tile products (listDot) and sums over joined keys (keyDot) of scalar-row relations gather their
 * vectors inside one statement and contract them with list_dot_product (kernels.ts).
 *
 * The blob payload (DuckDB; lower_blob.ts, duckdb_kernels.ts) stores one BLOB per tile and runs every
 * kernel as one of relml's kernels registered as a DuckDB function (`computeBlobs`); 'auto' takes it for
 * plans of few large tiles (payload.ts prefersBlobs).
 *
 * All arithmetic is float64 (blobs: the plan's dtype); outputs come back in `precision` (or the plan's dtype).
 */
import { BindingError, KeyError, PlanError, RelmlError, SqlError } from '../../errors.js';
import type { Node } from '../../tra/node.js';
import { OPS } from '../../tra/ops/index.js';
import type { Plan } from '../../tra/plan.js';
import { keyString, Relation } from '../../tra/relation.js';
import { schemaString, tileShapeAt, type Schema } from '../../tra/schema.js';
import { allocData, castTile, makeTile, sizeOf, stridesOf, type DType } from '../../tile.js';
import { bindInput, checkFinite, type Binding, type Executor, type RunOptions } from '../executor.js';
import { Params, type ColumnData, type SqlEngine } from './engine.js';
import { checkIdentifier, internalIdent, quoteIdent, quoteTable, sqlInt } from './ident.js';
import type { KernelCall } from '../../kernels/registry.js';
import { readsTileSlices } from './kernels.js';
import { columnNames, fusableJoin, lowerFused, lowerNode, srcOf } from './lower.js';
import { lowerTile } from './lower_tile.js';
import { choosePayloads, completeTiles, denseElems, dimSize, prefersBlobs, gatherTiles, scalarView, tileLength, TILE_SLICE_MIN_ELEMENTS, type Payload, type PayloadMode } from './payload.js';
import { blobScalarView, lowerBlob, lowerBlobFused, packLists, packTiles, type BlobCtx } from './lower_blob.js';
import { densify, encodeTile, decodeTile } from './blob.js';

/**
 * An existing table bound to a plan input: in scalar rows (one row per element, with the key columns, the
 * element-index columns — one per tile dimension, none for scalar tiles — and a value column, or none:
 * every row is 1), or in tiles (the key columns and a `tile` list column). Names are validated and
 * quoted; they are never spliced into SQL unquoted.
 */
export class SqlTable {
  readonly table: string;
  readonly schema: string | undefined;
  /** Key columns; null stands for the constant 0 (a key dimension of bound 1). */
  readonly keys: readonly (string | null)[];
  /** Element-index columns; null stands for the constant 0 (a tile dimension of size 1). */
  readonly index: readonly (string | null)[];
  /** The value column; undefined binds every row as 1 (an edge list, a mask, one-hot labels). */
  readonly value: string | undefined;
  /**
   * A tile column instead of index + value columns: one row per tile, the tile's elements as a list
   * (DuckDB DOUBLE[], PostgreSQL float8[]) in row-major order of its actual shape (payload.ts).
   */
  readonly tile: string | undefined;
  /**
   * A blob column instead: one row per tile, the tile in relml's bytes (blob.ts), as `SqlExecutor.packTable`
   * writes it; read only by the blob payload (DuckDB), which then skips packing the table on every run.
   */
  readonly blob: string | undefined;
  /**
   * Scalar rows only: every present tile has all of its elements (a parameter table, a dense feature
   * table), so relations computed from it may be stored as tiles (payload.ts). Checked with the bounds.
   */
  readonly dense: boolean;
  constructor(spec: { table: string; schema?: string; keys: readonly (string | null)[]; index?: readonly (string | null)[]; value?: string; tile?: string; blob?: string; dense?: boolean }) {
    this.table = checkIdentifier(spec.table);
    this.schema = spec.schema === undefined ? undefined : checkIdentifier(spec.schema);
    this.keys = spec.keys.map((c) => (c === null ? null : checkIdentifier(c)));
    this.index = (spec.index ?? []).map((c) => (c === null ? null : checkIdentifier(c)));
    this.value = spec.value === undefined ? undefined : checkIdentifier(spec.value);
    this.tile = spec.tile === undefined ? undefined : checkIdentifier(spec.tile);
    this.dense = spec.dense ?? false;
    this.blob = spec.blob === undefined ? undefined : checkIdentifier(spec.blob);
    if (this.tile !== undefined && (this.index.length > 0 || this.value !== undefined)) throw new BindingError(this.table, 'a tile column replaces the index and value columns: give one or the other');
    if (this.blob !== undefined && (this.index.length > 0 || this.value !== undefined || this.tile !== undefined)) throw new BindingError(this.table, 'a blob column replaces the index, value and tile columns: give one or the other');
  }
  /** The quoted FROM target. */
  get from(): string { return quoteTable(this.table, this.schema); }
}

export type SqlBinding = Binding | SqlTable;
export type SqlBindings = Readonly<Record<string, SqlBinding>>;

export interface SqlRunOptions extends RunOptions {
  /** Check bound tables' keys and element indices against the input schema (default true). */
  checkBounds?: boolean;
}

export interface SqlExecutorOptions {
  /**
   * DuckDB: contract einsum joins with list_dot_product when the contracted letters cover at least this
   * many elements per tile pair (default DEFAULT_LIST_DOT_MIN); Infinity keeps every product a scalar join
   * + GROUP BY. Ignored on PostgreSQL (no vectorised dot product).
   */
  listDotMin?: number;
  /**
   * How many levels of single-consumer nodes are inlined as subqueries into their consumer's statement
   * (default DEFAULT_INLINE_DEPTH); 0 materialises every node in its own table.
   */
  inlineDepth?: number;
  /**
   * DuckDB: contract a sum over joined key dimensions (e.g. weight gradients Xᵀ·G over row tiles) with
   * list_dot_product when both operands' tiles hold at least this many elements (default
   * DEFAULT_KEY_DOT_MIN_TILE; Infinity = never; needs a finite listDotMin). See kernels.ts keyDot.
   */
  keyDotMinTile?: number;
  /** Fuse a sum aggregation with the einsum join it alone reads into one GROUP BY (default true). */
  fuse?: boolean;
  /**
   * Physical payload of plan relations (payload.ts): 'scalar' rows everywhere, 'tile' (a list per tile)
   * for every relation with complete tiles, 'blob' (DuckDB: one BLOB per tile, every kernel a registered
   * function; lower_blob.ts), or 'auto' (default: blobs for plans of few large tiles on DuckDB, otherwise
   * the measured per-node rule between rows and lists; payload.ts).
   * Bound tables keep the payload they are stored in.
   */
  payload?: PayloadMode;
  /**
   * DuckDB: the largest operand (elements) whose vectors a list product may gather with list() inside a
   * statement (default unlimited). list() states do not spill, so under a small memory_limit set this
   * (e.g. 2^22 for 1 GB): larger operands then take the scalar join + GROUP BY, which spills.
   */
  gatherMax?: number;
}

/** Measured on the conformance plans: DuckDB gains from inlining, PostgreSQL's planner does not. */
export const DEFAULT_INLINE_DEPTH = { duckdb: 2, postgres: 0 } as const;

/** Measured crossover of list_dot_product over join + GROUP BY for tile products (bench/sql_matmul.ts). */
export const DEFAULT_LIST_DOT_MIN = 16;

let runCounter = 0;

export class SqlExecutor implements Executor {
  readonly name: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** Statements issued by the last run (for explain / debugging). */
  lastStatements: string[] = [];

  constructor(readonly engine: SqlEngine, readonly options: SqlExecutorOptions = {}) {
    this.name = `sql:${engine.dialect.name}`;
  }

  /** Runs `fn` alone on the connection (runs never interleave). */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs `fn` inside one transaction: committed when it resolves, rolled back when it throws (so tables
   * it changed are exactly as before). Used by training steps; `run` always rolls back.
   */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>, commit = true): Promise<T> {
    return this.exclusive(async () => {
      await this.engine.exec('BEGIN');
      const session = new SqlSession(this.engine, ++runCounter, this.options);
      try {
        const out = await fn(session);
        await this.engine.exec(commit ? 'COMMIT' : 'ROLLBACK');
        return out;
      } catch (e) {
        try { await this.engine.exec('ROLLBACK'); } catch { /* the original error matters */ }
        throw e;
      } finally {
        this.lastStatements = session.statements;
      }
    });
  }

  run(plan: Plan, bindings: SqlBindings, opts: SqlRunOptions = {}): Promise<Relation[]> {
    return this.transaction(async (s) => {
      const tables = await s.compute(plan, bindings, opts);
      const out: Relation[] = [];
      for (let j = 0; j < plan.outputs.length; j++) {
        const node = plan.outputs[j]!;
        const dtype = opts.precision ?? node.schema.dtype, blob = s.blobTable(node);
        const rel = blob ? await s.readBlobs(blob, node.schema, dtype, plan.names[j]!) : await s.read(tables.get(node)!, node.schema, dtype, plan.names[j]!);
        if (opts.checkFinite ?? true) checkFinite(rel, `output '${plan.names[j]}' (${node.op} node #${node.id})`);
        out.push(rel);
      }
      return out;
    }, false);
  }

  /**
   * Packs a table bound to input `inputName` of `plan` into a new table `into` of tile blobs (key columns
   * k0…, blob column t; sparse tiles as CSR), committed, and returns its binding. With payload 'blob', runs
   * then read the tiles as they are instead of packing the source on every run (a feature table or an
   * adjacency that does not change between training steps).
   */
  async packTable(plan: Plan, inputName: string, source: SqlTable, into: { table: string; schema?: string }): Promise<SqlTable> {
    const node = plan.inputs().get(inputName);
    if (!node) throw new BindingError(inputName, `the plan has no input '${inputName}' (inputs: ${[...plan.inputs().keys()].join(', ')})`);
    if (!this.engine.kernelFunctions) throw new PlanError(`packTable needs relml's registered kernel functions, which ${this.engine.dialect.name} does not have (DuckDB does)`);
    const target = new SqlTable({ table: into.table, schema: into.schema, keys: node.schema.keys.map((_, j) => `k${j}`), blob: 't' });
    return this.transaction(async (s) => {
      const from = await s.bindTable(node, source, true);
      const complete = source.dense || node.schema.tile.every((t) => t.size === 1);
      const dt = node.schema.dtype;
      const select = source.tile !== undefined ? packLists(from, node.schema, dt) : packTiles(`SELECT * FROM ${from}`, node.schema, complete, dt);
      await s.exec(`CREATE TABLE ${target.from} AS ${select}`);
      return target;
    });
  }

  close(): Promise<void> {
    return this.exclusive(() => this.engine.close());
  }
}

/**
 * How many consumers read each node, for inlining: a node read by exactly one consumer (and not an output)
 * may become a subquery of its consumer's statement instead of a table of its own. A retile reads its input
 * twice (moved elements, and the tiles they touch, for the zero fill): an inlined input would be computed
 * twice, so retile inputs count as read many times, as outputs do.
 */
function inlineUses(plan: Plan, nodes: readonly Node[]): Map<Node, number> {
  const uses = new Map<Node, number>();
  for (const n of nodes) for (const x of n.inputs) uses.set(x, (uses.get(x) ?? 0) + 1);
  for (const o of plan.outputs) uses.set(o, Infinity);
  for (const n of nodes) if (n.op === 'retile') for (const x of n.inputs) uses.set(x, Infinity);
  return uses;
}

/**
 * Whether a plan input's tiles are complete as bound (payload.ts completeTiles): data loaded from memory
 * is, a table is when it stores tiles or is declared dense, or its tiles have one element.
 */
const boundComplete = (bindings: Readonly<Record<string, SqlBinding>>) => (n: Node): boolean => {
  const b = n.op === 'input' ? bindings[n.attrs.name as string] : undefined;
  return !(b instanceof SqlTable) || b.tile !== undefined || b.dense || n.schema.tile.every((t) => t.size === 1);
};

/** A failure computing `node` as a SqlError naming the node (and the inputs inlined into its statement). */
function nodeError(e: unknown, node: Node, where: string, inlined: ReadonlyMap<Node, number>, engine: string): unknown {
  const inl = node.inputs.filter((x) => inlined.has(x)).map((x) => `#${x.id}`);
  const at = inl.length ? `${where}, with inlined input(s) ${inl.join(', ')}` : where;
  if (e instanceof SqlError) return new SqlError(engine, `${at}: ${e.message}`, { ...e.details, node: node.id });
  if (e instanceof RelmlError) return e;
  return new SqlError(engine, `${at}: ${(e as Error).message}`, { node: node.id });
}

/** One transaction's worth of work: temporary tables for plan nodes, loads, reads. */
export class SqlSession {
  readonly statements: string[] = [];
  private tableCount = 0;
  constructor(readonly engine: SqlEngine, private readonly id: number, private readonly options: SqlExecutorOptions = {}) {}

  async exec(sql: string, params: readonly number[] = []): Promise<number> {
    this.statements.push(sql);
    return this.engine.exec(sql, params);
  }

  /** Refreshes planner statistics of a table that just received `rows` rows, where the engine wants it. */
  async analyze(table: string, rows: number): Promise<void> {
    const sql = this.engine.dialect.analyze(table, rows);
    if (sql) await this.exec(sql);
  }

  async query(sql: string, params: readonly number[] = []): Promise<number[][]> {
    this.statements.push(sql);
    return this.engine.query(sql, params);
  }

  /** A fresh session-local table for a relation of `schema` (scalar rows, or one list per tile); returns its quoted name. */
  async createTable(schema: Schema, payload: Payload = 'scalar'): Promise<string> {
    const name = internalIdent(`relml_t${this.id}_${this.tableCount++}`);
    const d = this.engine.dialect;
    const names = payload !== 'scalar' ? [...schema.keys.map((_, j) => `k${j}`), 't'] : columnNames(schema);
    const list = payload === 'blob' ? 'BLOB' : d.doubleList;
    const cols = names.map((c) => `${internalIdent(c)} ${c === 'v' ? d.double : c === 't' ? list : d.int}`).join(', ');
    await this.exec(d.createTemp(name, cols));
    return name;
  }

  /** Loads a relation's elements into a new table. */
  async load(rel: Relation): Promise<string> {
    const schema = rel.schema, table = await this.createTable(schema);
    const nk = schema.keys.length, nt = schema.tile.length;
    let rows = 0;
    for (const t of rel.tuples()) rows += t.tile.data.length;
    const keyCols = Array.from({ length: nk }, () => new Int32Array(rows));
    const idxCols = Array.from({ length: nt }, () => new Int32Array(rows));
    const vals = new Float64Array(rows);
    let r = 0;
    for (const { key, tile } of rel.tuples()) {
      const st = stridesOf(tile.shape), n = tile.data.length;
      for (let e = 0; e < n; e++, r++) {
        for (let j = 0; j < nk; j++) keyCols[j]![r] = key[j]!;
        for (let d = 0; d < nt; d++) idxCols[d]![r] = Math.floor(e / st[d]!) % tile.shape[d]!;
        vals[r] = tile.data[e]!;
      }
    }
    const cols: ColumnData[] = [
      ...keyCols.map((values, j) => ({ name: `k${j}`, type: 'int' as const, values })),
      ...idxCols.map((values, j) => ({ name: `i${j}`, type: 'int' as const, values })),
      { name: 'v', type: 'double', values: vals },
    ];
    if (rows > 0) {
      this.statements.push(`-- append ${rows} row(s) to ${table}`);
      await this.engine.append(table, cols);
      await this.analyze(table, rows);
    }
    return table;
  }

  /** A bound table as a FROM-able subquery with the internal column names, after checking its bounds. */
  async bindTable(node: Node, t: SqlTable, check: boolean): Promise<string> {
    const s = node.schema, name = node.attrs.name as string, d = this.engine.dialect;
    if (t.blob !== undefined) throw new BindingError(name, `table ${t.from} stores tiles as blobs, which only the blob payload reads (SqlExecutorOptions.payload 'blob')`);
    if (t.tile !== undefined) return this.bindTileTable(node, t, check);
    // Tables of one-element tiles (sparse features, ratings, edges) may leave the index columns out: they are 0.
    const implicit = t.index.length === 0 && s.tile.every((td) => td.size === 1);
    if (t.keys.length !== s.keys.length || (t.index.length !== s.tile.length && !implicit)) {
      throw new BindingError(name, `table ${t.from} binds ${t.keys.length} key and ${t.index.length} index column(s), the plan expects ${s.keys.length} and ${s.tile.length} (${schemaString(s)})`);
    }
    const sel = [
      ...t.keys.map((c, j) => `${c === null ? '0' : `CAST(${quoteIdent(c)} AS ${d.int})`} AS k${j}`),
      ...(implicit ? s.tile.map((_, j) => `0 AS i${j}`) : t.index.map((c, j) => `${c === null ? '0' : `CAST(${quoteIdent(c)} AS ${d.int})`} AS i${j}`)),
      t.value === undefined ? `CAST(1 AS ${d.double}) AS v` : `CAST(${quoteIdent(t.value)} AS ${d.double}) AS v`,
    ].join(', ');
    const from = `(SELECT ${sel} FROM ${t.from})`;
    if (check) {
      const bad = [
        ...s.keys.map((b, j) => `k${j} < 0 OR k${j} >= ${sqlInt(b)}`),
        ...s.tile.map((td, j) => `i${j} < 0 OR i${j} >= ${td.key === null ? sqlInt(td.size) : `LEAST(${sqlInt(td.size)}, ${sqlInt(td.extent)} - k${td.key} * ${sqlInt(td.size)})`}`),
        'k0 IS NULL', 'v IS NULL',
      ].filter((c) => !c.startsWith('k0') || s.keys.length > 0);
      const cols = await this.query(`SELECT COUNT(*) FROM ${from} AS b WHERE ${bad.join(' OR ')}`);
      const n = cols[0]?.[0] ?? 0;
      if (n > 0) throw new KeyError(name, [], `table ${t.from} has ${n} row(s) with a NULL or with keys / element indices outside the schema ${schemaString(s)}`, s.keys);
      if (t.dense) {
        const ks = s.keys.map((_, j) => `b.k${j}`);
        const per = `SELECT ${[...ks.map((k, j) => `${k} AS k${j}`), 'COUNT(DISTINCT (' + (s.tile.length ? s.tile.map((_, j) => `b.i${j}`).join(', ') : '0') + ')) AS c'].join(', ')} FROM ${from} AS b${ks.length ? ` GROUP BY ${ks.join(', ')}` : ''}`;
        const short = (await this.query(`SELECT COUNT(*) FROM (${per}) AS b WHERE b.c <> ${tileLength(s, 'b')}`))[0]?.[0] ?? 0;
        if (short > 0) throw new KeyError(name, [], `table ${t.from} is declared dense but ${short} of its tiles miss elements (${schemaString(s)})`, s.keys);
      }
    }
    return from;
  }

  /** A bound table with a tile (list) or blob column, as keys + `t`, after checking keys and each tile's length or shape. */
  private async bindTileTable(node: Node, t: SqlTable, check: boolean): Promise<string> {
    const s = node.schema, name = node.attrs.name as string, d = this.engine.dialect;
    if (t.keys.length !== s.keys.length) throw new BindingError(name, `table ${t.from} binds ${t.keys.length} key column(s), the plan expects ${s.keys.length} (${schemaString(s)})`);
    // A list column holds a tile's elements (checked by length); a blob column a tile's bytes (checked by shape).
    const blob = t.blob !== undefined;
    const sel = [
      ...t.keys.map((c, j) => `${c === null ? '0' : `CAST(${quoteIdent(c)} AS ${d.int})`} AS k${j}`),
      `CAST(${quoteIdent(blob ? t.blob : t.tile)} AS ${blob ? 'BLOB' : d.doubleList}) AS t`,
    ].join(', ');
    const from = `(SELECT ${sel} FROM ${t.from})`;
    if (check) {
      const fits = blob ? `relml_shape(b.t) <> CAST([${s.tile.map((_, k) => dimSize(s, k, 'b')).join(', ')}] AS INTEGER[])` : `${d.listLen('b.t')} <> ${tileLength(s, 'b')}`;
      const bad = [...s.keys.map((b, j) => `b.k${j} IS NULL OR b.k${j} < 0 OR b.k${j} >= ${sqlInt(b)}`), 'b.t IS NULL', fits];
      const n = (await this.query(`SELECT COUNT(*) FROM ${from} AS b WHERE ${bad.join(' OR ')}`))[0]?.[0] ?? 0;
      if (n > 0) throw new KeyError(name, [], `table ${t.from} has ${n} row(s) with a NULL, keys outside the schema ${schemaString(s)} or ${blob ? 'a tile of the wrong shape' : 'a tile list of the wrong length'}`, s.keys);
    }
    return from;
  }


  /**
   * Computes every node of the plan into a table; returns node -> FROM-able source of its scalar rows
   * (nodes stored as tiles are returned through their unnest view).
   */
  async compute(plan: Plan, bindings: Readonly<Record<string, SqlBinding>>, opts: SqlRunOptions = {}): Promise<Map<Node, string>> {
    plan.inputs();
    const mode = this.options.payload ?? 'auto';
    const boundBlobs = Object.values(bindings).some((b) => b instanceof SqlTable && b.blob !== undefined);
    if (mode === 'blob' || (mode === 'auto' && this.engine.kernelFunctions && (boundBlobs || prefersBlobs(plan.nodes())))) return this.computeBlobs(plan, bindings, opts);
    const tables = new Map<Node, string>();
    const dialect = this.engine.dialect;
    const nodes = plan.nodes();
    // A node read by exactly one consumer (and not an output) becomes a subquery of its consumer's statement
    // instead of a table of its own, up to `inlineDepth` nested levels: fewer statements, and the engine
    // optimises the chain as one query.
    const uses = inlineUses(plan, nodes);
    const maxDepth = this.options.inlineDepth ?? (process.env.RELML_SQL_INLINE ? Number(process.env.RELML_SQL_INLINE) : DEFAULT_INLINE_DEPTH[dialect.name]);
    const inlined = new Map<Node, number>();
    const listDotMin = this.options.listDotMin ?? (dialect.name === 'duckdb' ? DEFAULT_LIST_DOT_MIN : Infinity);
    // Payload per node (payload.ts); bound tables are what they are.
    const bound = (n: Node) => (n.op === 'input' ? bindings[n.attrs.name as string] : undefined);
    const complete = completeTiles(nodes, boundComplete(bindings));
    // 'auto' (payload.ts) stores a node as tiles when that costs no gather (it is lowered on its inputs'
    // lists) or when it is *pulled*: a consumer reads its lists without unnesting — a list product's
    // slices of a large relation (TILE_SLICE_MIN_ELEMENTS), or a list-lowered consumer that is itself
    // pulled (the value side of 'second', say).
    const probe = { params: new Params(dialect), dialect, listDotMin, keyDotMinTile: this.options.keyDotMinTile, gatherMax: this.options.gatherMax };
    const consumers = new Map<Node, Node[]>();
    for (const n of nodes) for (const x of n.inputs) consumers.set(x, [...(consumers.get(x) ?? []), n]);
    const pulled = new Set<Node>();
    // Operands a list product may not gather (over gatherMax: list() states do not spill) are stored as
    // tiles it can slice instead, whatever their size.
    const sliceMin = Math.min(TILE_SLICE_MIN_ELEMENTS, this.options.gatherMax ?? Infinity);
    for (const n of [...nodes].reverse()) {
      for (const c of complete.get(n) ? consumers.get(n) ?? [] : []) {
        const call = c.attrs.kernel as KernelCall | undefined;
        const side = c.inputs.indexOf(n) as 0 | 1;
        const slices = c.op === 'join' && denseElems(n.schema) >= sliceMin && readsTileSlices(call!, srcOf('', c.inputs[0]!.schema, true), srcOf('', c.inputs[1]!.schema, true), side, probe);
        const listed = pulled.has(c) && !(call?.name === 'second' && side === 0) && lowerTile(c, c.inputs.map(() => 'p'), { ...probe, isTile: () => true }) !== null;
        if (slices || listed) pulled.add(n);
      }
    }
    const payloads = choosePayloads(nodes, this.options.payload ?? 'auto', dialect, complete, (n) => {
      const b = bound(n);
      return b instanceof SqlTable ? (b.tile !== undefined ? 'tile' : 'scalar') : undefined;
    }, (n, sofar) => pulled.has(n) || lowerTile(n, n.inputs.map(() => 'p'), { ...probe, isTile: (x) => x === n || sofar.get(x) === 'tile' }) !== null);
    const isTile = (n: Node) => payloads.get(n) === 'tile';
    // A sum aggregation of an einsum join read only by it is computed in one GROUP BY (fusedInto).
    const fused = new Set<Node>();
    const lower = (x: Node, params: Params): string => {
      const ctx = { params, dialect, listDotMin, keyDotMinTile: this.options.keyDotMinTile, gatherMax: this.options.gatherMax, isTile };
      const j = fused.has(x.inputs[0]!) ? x.inputs[0]! : null;
      // Sources are rendered once: an inlined input's subquery adds its statement parameters.
      const ins = (j ?? x).inputs.map((i) => source(i, params));
      const native = j ? null : lowerTile(x, ins, ctx);
      if (native) return native;
      const sel = j ? lowerFused(x, j, ins, ctx) : lowerNode(x, ins, ctx);
      return isTile(x) ? gatherTiles(sel, x.schema, dialect) : sel;
    };
    const source = (x: Node, params: Params): string => (inlined.has(x) ? `(${lower(x, params)})` : tables.get(x)!);
    if (this.options.fuse ?? true) {
      for (const n of nodes) {
        const j = fusableJoin(n, { params: new Params(dialect), dialect, listDotMin, keyDotMinTile: this.options.keyDotMinTile, gatherMax: this.options.gatherMax, isTile });
        if (j && uses.get(j) === 1) fused.add(j);
      }
    }
    for (const node of nodes) {
      const where = `${node.op} ${OPS[node.op].describe(node.attrs)} (node #${node.id})`;
      try {
        if (node.op === 'input') {
          const b = bindings[node.attrs.name as string];
          if (b instanceof SqlTable) tables.set(node, await this.bindTable(node, b, opts.checkBounds ?? true));
          else {
            const rel = bindInput(node, b, 'float64');
            if (opts.checkFinite ?? true) checkFinite(rel, `input '${String(node.attrs.name)}'`);
            tables.set(node, await this.loadAs(rel, payloads.get(node)!));
          }
        } else if (node.op === 'const') {
          tables.set(node, await this.loadAs(node.attrs.value as Relation, payloads.get(node)!));
        } else {
          if (fused.has(node)) continue; // computed inside its aggregation's statement
          const reads = node.inputs.flatMap((x) => (fused.has(x) ? x.inputs : [x]));
          const depth = 1 + Math.max(0, ...reads.map((x) => inlined.get(x) ?? 0));
          if (uses.get(node) === 1 && depth <= maxDepth) { inlined.set(node, depth); continue; }
          const params = new Params(dialect);
          const select = lower(node, params);
          const table = await this.createTable(node.schema, payloads.get(node));
          await this.analyze(table, await this.exec(`INSERT INTO ${table} ${select}`, params.values));
          tables.set(node, table);
        }
      } catch (e) {
        throw nodeError(e, node, where, inlined, dialect.name);
      }
    }
    return new Map([...tables].map(([n, t]) => [n, isTile(n) ? scalarView(t, n.schema, dialect) : t]));
  }

  /** Raw blob tables of the nodes the last computeBlobs stored (run() reads outputs from them directly). */
  private readonly blobs = new Map<Node, string>();

  /** The blob table of a node computed in the blob payload, if it was. */
  blobTable(node: Node): string | undefined { return this.blobs.get(node); }

  /**
   * compute() in the blob payload (lower_blob.ts): every node is a table of tile blobs computed by the
   * engine's registered kernel functions. Bound tables are packed into tiles first (sparse ones as CSR);
   * nodes without a blob lowering (retile) run the scalar lowering on their inputs' elements and are packed.
   */
  private async computeBlobs(plan: Plan, bindings: Readonly<Record<string, SqlBinding>>, opts: SqlRunOptions): Promise<Map<Node, string>> {
    const host = this.engine.kernelFunctions, dialect = this.engine.dialect;
    if (!host) throw new PlanError(`payload 'blob' runs relml's kernels as registered functions of the engine, which ${dialect.name} does not have (DuckDB does)`);
    const nodes = plan.nodes(), tables = new Map<Node, string>();
    const uses = inlineUses(plan, nodes);
    const maxDepth = this.options.inlineDepth ?? DEFAULT_INLINE_DEPTH.duckdb;
    const inlined = new Map<Node, number>();
    const complete = completeTiles(nodes, boundComplete(bindings));
    // A sum over a join that nothing else reads is one statement (lowerBlobFused).
    const fused = new Set<Node>();
    for (const n of nodes) {
      const j = n.inputs[0];
      if (n.op === 'aggregate' && n.attrs.fn === 'sum' && n.inputs.length === 1 && j?.op === 'join' && uses.get(j) === 1) fused.add(j);
    }
    // Tiles carry the plan's dtype (or `precision`): float32 plans compute in float32, as in process.
    const dtypeOf = (n: Node): DType => opts.precision ?? n.schema.dtype;
    const ctxOf = (params: Params): BlobCtx => ({ params, dialect, isTile: () => true, callId: (c) => host.callId(c) });
    const lower = (x: Node, params: Params): string => {
      const j = fused.has(x.inputs[0]!) ? x.inputs[0]! : null;
      const ins = (j ?? x).inputs.map((i) => source(i, params));
      if (j) return lowerBlobFused(x, j, ins, ctxOf(params));
      const native = lowerBlob(x, ins, ctxOf(params));
      if (native) return native;
      const rows = x.inputs.map((n, k) => blobScalarView(ins[k]!, n.schema, dialect));
      return packTiles(lowerNode(x, rows, { params, dialect, listDotMin: Infinity, isTile: () => false }), x.schema, complete.get(x) === true, dtypeOf(x));
    };
    const source = (x: Node, params: Params): string => (inlined.has(x) ? `(${lower(x, params)})` : tables.get(x)!);
    const store = async (node: Node, select: string, params: readonly number[] = []): Promise<string> => {
      const table = await this.createTable(node.schema, 'blob');
      await this.exec(`INSERT INTO ${table} ${select}`, params);
      return table;
    };
    for (const node of nodes) {
      const where = `${node.op} ${OPS[node.op].describe(node.attrs)} (node #${node.id})`;
      try {
        if (node.op === 'input') {
          const b = bindings[node.attrs.name as string];
          if (b instanceof SqlTable && b.blob !== undefined) tables.set(node, await this.bindTileTable(node, b, opts.checkBounds ?? true));
          else if (b instanceof SqlTable) {
            const from = await this.bindTable(node, b, opts.checkBounds ?? true);
            tables.set(node, await store(node, b.tile !== undefined ? packLists(from, node.schema, dtypeOf(node)) : packTiles(`SELECT * FROM ${from}`, node.schema, complete.get(node) === true, dtypeOf(node))));
          } else {
            const rel = bindInput(node, b, dtypeOf(node));
            if (opts.checkFinite ?? true) checkFinite(rel, `input '${String(node.attrs.name)}'`);
            tables.set(node, await this.loadBlobs(rel, dtypeOf(node)));
          }
        } else if (node.op === 'const') {
          tables.set(node, await this.loadBlobs(node.attrs.value as Relation, dtypeOf(node)));
        } else {
          if (fused.has(node)) continue;
          const reads = node.inputs.flatMap((x) => (fused.has(x) ? x.inputs : [x]));
          const depth = 1 + Math.max(0, ...reads.map((x) => inlined.get(x) ?? 0));
          if (uses.get(node) === 1 && depth <= maxDepth) { inlined.set(node, depth); continue; }
          const params = new Params(dialect);
          const select = lower(node, params);
          tables.set(node, await store(node, select, params.values));
        }
      } catch (e) {
        throw nodeError(e, node, where, inlined, dialect.name);
      }
    }
    this.blobs.clear();
    for (const [n, t] of tables) this.blobs.set(n, t);
    return new Map([...tables].map(([n, t]) => [n, blobScalarView(t, n.schema, dialect)]));
  }

  /** Loads a relation's tiles as blobs of `dtype` (sparse tiles stay CSR). */
  async loadBlobs(rel: Relation, dtype: DType): Promise<string> {
    const table = await this.createTable(rel.schema, 'blob');
    const keys: number[][] = [], tiles: Uint8Array[] = [];
    for (const { key, tile } of rel.tuples()) { keys.push([...key]); tiles.push(encodeTile(castTile(tile, dtype))); }
    if (tiles.length) {
      this.statements.push(`-- append ${tiles.length} tile(s) to ${table}`);
      await this.engine.kernelFunctions!.appendTiles(table, keys, tiles);
    }
    return table;
  }

  /** Reads a blob table back as a relation (sparse tiles densified, as every executor returns them). */
  async readBlobs(table: string, schema: Schema, dtype: DType, name: string): Promise<Relation> {
    const sql = `SELECT ${[...schema.keys.map((_, j) => `o.k${j}`), 'o.t'].join(', ')} FROM ${table} AS o`;
    this.statements.push(sql);
    const { keys, tiles } = await this.engine.kernelFunctions!.readTiles(sql);
    const rel = new Relation({ ...schema, dtype }, name);
    tiles.forEach((bytes, r) => {
      const t = densify(decodeTile(bytes, `${name} tile at key (${keys[r]})`), name);
      const want = tileShapeAt(schema, keys[r]!);
      if (t.shape.length !== want.length || t.shape.some((d, j) => d !== want[j])) throw new PlanError(`SQL executor: ${name} tile at key (${keys[r]}) came back with shape [${t.shape}], expected [${want}]`);
      const data = allocData(dtype, t.data.length);
      data.set(t.data);
      rel.set(keys[r]!, makeTile(t.shape, dtype, data));
    });
    return rel;
  }

  /** Loads a relation in the given payload (tiles: loaded as rows, then gathered by the engine). */
  async loadAs(rel: Relation, payload: Payload): Promise<string> {
    const rows = await this.load(rel);
    if (payload === 'scalar') return rows;
    const table = await this.createTable(rel.schema, 'tile');
    await this.exec(`INSERT INTO ${table} ${gatherTiles(`SELECT * FROM ${rows}`, rel.schema, this.engine.dialect)}`);
    return table;
  }

  /** Reads a table back as a relation (every present tile must be complete). */
  async read(from: string, schema: Schema, dtype: DType, name: string): Promise<Relation> {
    const nk = schema.keys.length, nt = schema.tile.length;
    const cols = await this.query(`SELECT ${columnNames(schema).join(', ')} FROM ${from} AS o`);
    const rows = cols[0]?.length ?? 0;
    const tiles = new Map<string, { key: number[]; shape: number[]; st: number[]; data: Float64Array; filled: number }>();
    for (let r = 0; r < rows; r++) {
      const key = Array.from({ length: nk }, (_, j) => cols[j]![r]!);
      const ks = keyString(key);
      let t = tiles.get(ks);
      if (!t) {
        const shape = tileShapeAt(schema, key);
        tiles.set(ks, (t = { key, shape, st: stridesOf(shape), data: new Float64Array(sizeOf(shape)), filled: 0 }));
      }
      let off = 0;
      for (let d = 0; d < nt; d++) off += cols[nk + d]![r]! * t.st[d]!;
      t.data[off] = cols[nk + nt]![r]!;
      t.filled++;
    }
    const rel = new Relation({ ...schema, dtype }, name);
    for (const t of tiles.values()) {
      if (t.filled !== t.data.length) throw new PlanError(`SQL executor: ${name} tile at key (${t.key}) came back with ${t.filled} of ${t.data.length} elements`);
      const data = allocData(dtype, t.data.length);
      data.set(t.data);
      rel.set(t.key, makeTile(t.shape, dtype, data));
    }
    return rel;
  }
}
