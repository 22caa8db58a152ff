/**
 * SQL pieces shared by the GCN benchmarks (sql_gcn.ts, sql_spmm_bound.ts): the PostgreSQL connection, and
 * the generated graph as tables, the same integer-hash edges in every engine (gcn_peers.ts `adjacency`
 * builds the same graph in JS): raw_edges(src, dst), then edges(src, dst, w) with reverse edges and self
 * loops added, duplicates removed and w = 1/deg(src).
 */
import { quoteIdent, type PostgresOptions, type SqlEngine } from '../src/exec/sql/index.js';

/**
 * The benchmarks' PostgreSQL connection with `work_mem` for the session ('default' keeps the server's).
 * Its default, 4 MB, makes every large hash aggregate spill in many batches: the full-size edge DISTINCT
 * took over 8 minutes with it and 4 s with 512 MB. DuckDB may use most of the machine's memory by default.
 */
export function pgConnection(url: string, workMem: string): PostgresOptions {
  return workMem === 'default' ? url : { connectionString: url, options: `-c work_mem=${workMem}` };
}

/** `n` rows of one integer column `col`, as a FROM item. */
export function seriesSql(e: SqlEngine, n: number, col: string): string {
  return e.dialect.name === 'duckdb' ? `range(0, ${n}) AS t_${col}(${col})` : `generate_series(0, ${n - 1}) AS t_${col}(${col})`;
}

/**
 * ANALYZE `schema`.`table` on PostgreSQL (a no-op on DuckDB): it plans each next statement from statistics,
 * and without them guesses (e.g. 40,000 distinct edges for 2.5 M). A slow full-size DISTINCT there is
 * work_mem's doing, not this (pgConnection).
 */
export async function analyzeTable(e: SqlEngine, schema: string, table: string): Promise<void> {
  if (e.dialect.name === 'postgres') await e.exec(`ANALYZE ${quoteIdent(schema)}.${quoteIdent(table)}`);
}

/** Creates raw_edges, edges0 and edges in `schema` for N nodes and M generated edges. */
export async function createEdgeTables(e: SqlEngine, schema: string, N: number, M: number): Promise<void> {
  const d = e.dialect, q = (t: string) => `${quoteIdent(schema)}.${quoteIdent(t)}`;
  const analyze = (t: string) => analyzeTable(e, schema, t);
  await e.exec(`CREATE TABLE ${q('raw_edges')} AS SELECT CAST((CAST(e AS BIGINT) * 2654435761) % ${N} AS INTEGER) AS src, CAST((CAST(e AS BIGINT) * 40503 + ${d.intDiv('CAST(e AS BIGINT)', String(N))} * 7 + 12345) % ${N} AS INTEGER) AS dst FROM ${seriesSql(e, M, 'e')}`);
  await analyze('raw_edges');
  await e.exec(`CREATE TABLE ${q('edges0')} AS SELECT DISTINCT src, dst FROM (SELECT src, dst FROM ${q('raw_edges')} UNION ALL SELECT dst, src FROM ${q('raw_edges')} UNION ALL SELECT n, n FROM ${seriesSql(e, N, 'n')}) AS u`);
  await analyze('edges0');
  await e.exec(`CREATE TABLE ${q('edges')} AS SELECT g.src, g.dst, CAST(1 AS ${d.double}) / c.deg AS w FROM ${q('edges0')} AS g JOIN (SELECT src, COUNT(*) AS deg FROM ${q('edges0')} GROUP BY src) AS c ON g.src = c.src`);
  await analyze('edges');
}

/**
 * Drops the schemas `prefix`<pid> that benchmark processes no longer running left behind (a run stopped
 * with a signal does not reach its `finally`; a full-size PostgreSQL schema holds over 2 GB). Schemas of
 * live processes, such as a run in progress beside this one, stay.
 */
export async function dropStaleSchemas(e: SqlEngine, prefix: string): Promise<void> {
  if (!/^[a-z_]+$/.test(prefix)) throw new Error(`dropStaleSchemas: bad prefix ${prefix}`);
  const match = e.dialect.name === 'duckdb' ? `regexp_full_match(schema_name, '${prefix}[0-9]+')` : `schema_name ~ '^${prefix}[0-9]+$'`;
  const [pids = []] = await e.query(`SELECT CAST(substr(schema_name, ${prefix.length + 1}) AS BIGINT) FROM information_schema.schemata WHERE ${match}`);
  for (const pid of pids) {
    if (alive(pid)) continue;
    await e.exec(`DROP SCHEMA ${quoteIdent(`${prefix}${pid}`)} CASCADE`);
    console.log(`dropped schema ${prefix}${pid}, left by a stopped run`);
  }
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}
