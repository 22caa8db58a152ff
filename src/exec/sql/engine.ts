/**
 * The engine adapter contract: what the SQL executor needs from a database. Two adapters implement it
 * (duckdb.ts: DuckDB embedded through @duckdb/node-api; postgres.ts: a PostgreSQL server through `pg`).
 * Every statement takes its values as parameters; the dialect says how to write the few constructs the
 * two engines spell differently.
 */
import type { KernelCall } from '../../kernels/registry.js';

export interface Dialect {
  readonly name: 'duckdb' | 'postgres';
  /** Column type of payload values. */
  readonly double: string;
  /** Column type of keys and element indices. */
  readonly int: string;
  /** a div b for a non-negative integer expression a and a positive integer b. */
  intDiv(a: string, b: string): string;
  /** Placeholder of the n-th (1-based) statement parameter, typed as a double. */
  param(n: number): string;
  /** SQL that creates a session-local table with these (already quoted) column definitions. */
  createTemp(table: string, columns: string): string;
  /**
   * Refresh planner statistics of a session-local table after it received this many rows, or null when
   * the engine needs none. (PostgreSQL never analyses temporary tables by itself, and its join order on
   * unanalysed tables can be catastrophic: nested loops over millions of rows.)
   */
  analyze(table: string, rows: number): string | null;
  /** Column type of a tile payload (a list of doubles, row-major). */
  readonly doubleList: string;
  /** 0-based positions of a list's elements, as a set-returning select-list item zipped with unnest(list). */
  positions(list: string): string;
  /** Aggregate the values into a list in the given order (null: any order). */
  listAgg(v: string, order: string | null): string;
  /** Number of elements of a list. */
  listLen(list: string): string;
  /** The list with `body` (an expression of the element `x_`) applied to every element. */
  mapList(list: string, body: (x: string) => string): string;
  /** Two lists of equal length combined elementwise by `body` (an expression of `a`, `b`). */
  zipLists(a: string, b: string, body: (x: string, y: string) => string): string;
}

export interface ColumnData {
  /** Internal column name (k0, i0, v). */
  readonly name: string;
  readonly type: 'int' | 'double';
  readonly values: ArrayLike<number>;
}

/**
 * relml's kernels registered as the engine's own functions (DuckDB: duckdb_kernels.ts), which the blob
 * payload needs: kernel-call ids for the SQL, and tiles in and out as bytes.
 */
export interface KernelFunctionHost {
  /** The id under which the functions find `call`. */
  callId(call: KernelCall): number;
  /** Appends one row per tile (its key, its blob.ts bytes) to a table (an already quoted name) created by this session. */
  appendTiles(table: string, keys: readonly (readonly number[])[], tiles: readonly Uint8Array[]): Promise<void>;
  /** Runs a query whose last column is a tile blob and every other an integer key. */
  readTiles(sql: string): Promise<{ keys: number[][]; tiles: Uint8Array[] }>;
}

export interface SqlEngine {
  readonly dialect: Dialect;
  /** Present when the engine runs relml's kernels as registered functions (the blob payload). */
  readonly kernelFunctions?: KernelFunctionHost;
  /** Runs one statement; resolves to the number of rows it changed (-1 when the engine does not say). */
  exec(sql: string, params?: readonly number[]): Promise<number>;
  /** Runs a query whose columns are all numeric; returns them column-wise. */
  query(sql: string, params?: readonly number[]): Promise<number[][]>;
  /** Appends rows, given column-wise, to a table (an already quoted name) created by this session. */
  append(table: string, columns: readonly ColumnData[]): Promise<void>;
  close(): Promise<void>;
}

/** Collects statement parameters and hands out their placeholders. */
export class Params {
  readonly values: number[] = [];
  constructor(private readonly dialect: Dialect) {}
  add(x: number): string {
    this.values.push(x);
    return this.dialect.param(this.values.length);
  }
}
