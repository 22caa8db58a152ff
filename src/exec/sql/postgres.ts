/**
 * PostgreSQL adapter: one connection (one session, so temporary tables and transactions are its own)
 * through `pg`. Bulk loads are INSERT … SELECT FROM unnest($1::int[], …, $n::float8[]) in batches, so data
 * travels as parameters, never as SQL text.
 */
import pg from 'pg';
import { SqlError } from '../../errors.js';
import type { ColumnData, Dialect, SqlEngine } from './engine.js';

export const POSTGRES_DIALECT: Dialect = {
  name: 'postgres',
  double: 'DOUBLE PRECISION',
  int: 'INTEGER',
  intDiv: (a, b) => `(${a}) / ${b}`,
  param: (n) => `CAST($${n} AS DOUBLE PRECISION)`,
  createTemp: (table, columns) => `CREATE TEMP TABLE ${table} (${columns})`,
  analyze: (table, rows) => (rows >= ANALYZE_MIN_ROWS ? `ANALYZE ${table}` : null),
  doubleList: 'DOUBLE PRECISION[]',
  positions: (l) => `generate_subscripts(${l}, 1) - 1`,
  listAgg: (v, order) => `array_agg(${v}${order ? ` ORDER BY ${order}` : ''})`,
  listLen: (l) => `cardinality(${l})`,
  // No lambdas: unnest the array(s) with their positions and build the result in the same order.
  mapList: (l, body) => `ARRAY(SELECT ${body('u_.x_')} FROM unnest(${l}) WITH ORDINALITY AS u_(x_, o_) ORDER BY u_.o_)`,
  zipLists: (a, b, body) => `ARRAY(SELECT ${body('u_.a_', 'u_.b_')} FROM unnest(${a}, ${b}) WITH ORDINALITY AS u_(a_, b_, o_) ORDER BY u_.o_)`,
};

export type PostgresOptions = string | pg.ClientConfig;

const BATCH = 50_000;
/** Temporary tables with at least this many rows get ANALYZE (see Dialect.analyze). */
export const ANALYZE_MIN_ROWS = 1000;

export class PostgresEngine implements SqlEngine {
  readonly dialect = POSTGRES_DIALECT;
  private constructor(private readonly client: pg.Client) {}

  static async open(opts: PostgresOptions): Promise<PostgresEngine> {
    const client = new pg.Client(typeof opts === 'string' ? { connectionString: opts } : opts);
    try {
      await client.connect();
    } catch (e) {
      throw new SqlError('postgres', `cannot connect: ${(e as Error).message}`);
    }
    client.on('error', () => { /* reported by the failing query */ });
    return new PostgresEngine(client);
  }

  async exec(sql: string, params: readonly number[] = []): Promise<number> {
    try {
      const res = await this.client.query(sql, params.length ? [...params] : undefined);
      return res.rowCount ?? -1;
    } catch (e) {
      throw new SqlError('postgres', (e as Error).message, { statement: sql });
    }
  }

  async query(sql: string, params: readonly number[] = []): Promise<number[][]> {
    let res: pg.QueryArrayResult<unknown[]>;
    try {
      res = await this.client.query({ text: sql, values: params.length ? [...params] : undefined, rowMode: 'array' });
    } catch (e) {
      throw new SqlError('postgres', (e as Error).message, { statement: sql });
    }
    const cols: number[][] = res.fields.map(() => []);
    for (const row of res.rows) row.forEach((v, j) => cols[j]!.push(v === null ? NaN : Number(v)));
    return cols;
  }

  async append(table: string, columns: readonly ColumnData[]): Promise<void> {
    const n = columns[0]?.values.length ?? 0;
    const types = columns.map((c, j) => `$${j + 1}::${c.type === 'int' ? 'int4' : 'float8'}[]`).join(', ');
    const sql = `INSERT INTO ${table} SELECT * FROM unnest(${types})`;
    for (let s = 0; s < n; s += BATCH) {
      const e = Math.min(n, s + BATCH);
      const values = columns.map((c) => Array.from({ length: e - s }, (_, r) => c.values[s + r]!));
      try {
        await this.client.query(sql, values);
      } catch (err) {
        throw new SqlError('postgres', `append to ${table}: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}
