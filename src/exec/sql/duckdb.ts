/**
 * DuckDB adapter: an embedded database through @duckdb/node-api (in memory by default, or a file).
 * Bulk loads go through DuckDB's appender; queries come back column-wise.
 */
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { SqlError } from '../../errors.js';
import type { ColumnData, Dialect, KernelFunctionHost, SqlEngine } from './engine.js';
import { registerKernelFunctions, type KernelCalls } from './duckdb_kernels.js';

export const DUCKDB_DIALECT: Dialect = {
  name: 'duckdb',
  double: 'DOUBLE',
  int: 'INTEGER',
  intDiv: (a, b) => `(${a}) // ${b}`,
  param: (n) => `CAST($${n} AS DOUBLE)`,
  createTemp: (table, columns) => `CREATE TEMP TABLE ${table} (${columns})`,
  analyze: () => null,
  doubleList: 'DOUBLE[]',
  positions: (l) => `unnest(range(len(${l})))`,
  listAgg: (v, order) => `list(${v}${order ? ` ORDER BY ${order}` : ''})`,
  listLen: (l) => `len(${l})`,
  // Lambdas over the list (an element-by-element lambda over stored lists is fast for elementwise work).
  mapList: (l, body) => `list_transform(${l}, x_ -> ${body('x_')})`,
  zipLists: (a, b, body) => `list_transform(range(len(${a})), p_ -> ${body(`${a}[p_ + 1]`, `${b}[p_ + 1]`)})`,
};

export interface DuckDBOptions {
  /** Database file; ':memory:' (the default) keeps everything in memory. */
  path?: string;
  /** DuckDB's memory_limit, e.g. '1GB' (it spills to disk beyond it). */
  memoryLimit?: string;
  threads?: number;
}

export class DuckDBEngine implements SqlEngine {
  readonly dialect = DUCKDB_DIALECT;
  readonly kernelFunctions: KernelFunctionHost;
  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection, calls: KernelCalls) {
    this.kernelFunctions = {
      callId: (call) => calls.id(call),
      appendTiles: (table, keys, tiles) => this.appendTiles(table, keys, tiles),
      readTiles: (sql) => this.readTiles(sql),
    };
  }

  static async open(opts: DuckDBOptions = {}): Promise<DuckDBEngine> {
    // The executor never relies on the order of rows in a table (tiles are rebuilt from element indices,
    // lists are ordered explicitly), and keeping insertion order costs memory in large INSERT … SELECTs.
    const config: Record<string, string> = { preserve_insertion_order: 'false' };
    if (opts.memoryLimit !== undefined) config.memory_limit = String(opts.memoryLimit);
    if (opts.threads !== undefined) config.threads = String(opts.threads);
    try {
      const instance = await DuckDBInstance.create(opts.path ?? ':memory:', config);
      const conn = await instance.connect();
      return new DuckDBEngine(instance, conn, registerKernelFunctions(conn));
    } catch (e) {
      throw new SqlError('duckdb', `cannot open database: ${(e as Error).message}`);
    }
  }

  async exec(sql: string, params: readonly number[] = []): Promise<number> {
    try {
      const res = await this.conn.run(sql, params.length ? [...params] : undefined);
      return res.rowsChanged;
    } catch (e) {
      throw new SqlError('duckdb', (e as Error).message, { statement: sql });
    }
  }

  async query(sql: string, params: readonly number[] = []): Promise<number[][]> {
    try {
      const reader = await this.conn.runAndReadAll(sql, params.length ? [...params] : undefined);
      return reader.getColumns().map((col) => col.map(toNumber));
    } catch (e) {
      throw new SqlError('duckdb', (e as Error).message, { statement: sql });
    }
  }

  async append(table: string, columns: readonly ColumnData[]): Promise<void> {
    const n = columns[0]?.values.length ?? 0;
    await this.appendRows(table, (ap) => {
      for (let r = 0; r < n; r++) {
        for (const c of columns) {
          if (c.type === 'int') ap.appendInteger(c.values[r]!);
          else ap.appendDouble(c.values[r]!);
        }
        ap.endRow();
      }
    });
  }

  private appendTiles(table: string, keys: readonly (readonly number[])[], tiles: readonly Uint8Array[]): Promise<void> {
    return this.appendRows(table, (ap) => tiles.forEach((t, r) => {
      for (const k of keys[r]!) ap.appendInteger(k);
      ap.appendBlob(t);
      ap.endRow();
    }));
  }

  /** Rows through DuckDB's appender into a session table (internal names only: the appender takes a bare name). */
  private async appendRows(table: string, fill: (ap: DuckDBAppender) => void): Promise<void> {
    // Internal temp tables are "name" in catalog temp.
    const bare = /^"([a-z][a-z0-9_]*)"$/.exec(table)?.[1];
    if (!bare) throw new SqlError('duckdb', `append: ${table} is not an internal table name`);
    try {
      const ap = await this.conn.createAppender(bare, 'main', 'temp');
      fill(ap);
      ap.flushSync();
      ap.closeSync();
    } catch (e) {
      throw new SqlError('duckdb', `append to ${table}: ${(e as Error).message}`);
    }
  }

  private async readTiles(sql: string): Promise<{ keys: number[][]; tiles: Uint8Array[] }> {
    try {
      const reader = await this.conn.runAndReadAll(sql);
      const cols = reader.getColumns();
      const last = cols.length - 1, n = cols[last]?.length ?? 0;
      const keys: number[][] = [], tiles: Uint8Array[] = [];
      for (let r = 0; r < n; r++) {
        keys.push(cols.slice(0, last).map((c) => toNumber(c[r]!)));
        const t = cols[last]![r] as { bytes: Uint8Array } | null;
        if (t === null) throw new Error(`row ${r} has a NULL tile`);
        tiles.push(t.bytes);
      }
      return { keys, tiles };
    } catch (e) {
      throw new SqlError('duckdb', (e as Error).message, { statement: sql });
    }
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function toNumber(v: DuckDBValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === null) return NaN;
  return Number(v);
}
