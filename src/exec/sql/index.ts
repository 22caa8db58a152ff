/** The SQL executor: TRA plans and their gradients run inside DuckDB (embedded) or PostgreSQL (server). */
import { DuckDBEngine, type DuckDBOptions } from './duckdb.js';
import { SqlExecutor, type SqlExecutorOptions } from './executor.js';
import { PostgresEngine, type PostgresOptions } from './postgres.js';

export { DEFAULT_LIST_DOT_MIN, SqlExecutor, SqlSession, SqlTable, type SqlBinding, type SqlBindings, type SqlExecutorOptions, type SqlRunOptions } from './executor.js';
export { DuckDBEngine, DUCKDB_DIALECT, type DuckDBOptions } from './duckdb.js';
export { PostgresEngine, POSTGRES_DIALECT, type PostgresOptions } from './postgres.js';
export { Params, type ColumnData, type Dialect, type SqlEngine } from './engine.js';
export { checkIdentifier, quoteIdent, quoteTable, MAX_IDENTIFIER_BYTES } from './ident.js';

/** An executor on a fresh DuckDB database (in memory unless `path` is given). */
export async function duckdbExecutor(opts: DuckDBOptions & SqlExecutorOptions = {}): Promise<SqlExecutor> {
  return new SqlExecutor(await DuckDBEngine.open(opts), opts);
}

/** An executor on a PostgreSQL server (a connection string or a pg client config). */
export async function postgresExecutor(opts: PostgresOptions, exec: SqlExecutorOptions = {}): Promise<SqlExecutor> {
  return new SqlExecutor(await PostgresEngine.open(opts), exec);
}
export { sqlTrainStep, type SqlParameter, type SqlStepOptions } from './train.js';
