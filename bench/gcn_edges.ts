/**
 * The generated graph of the GCN benchmarks as SQL tables, the same integer-hash edges in every engine
 * (bench/gcn_peers.ts `adjacency` builds the same graph in JS): raw_edges(src, dst), then edges(src, dst, w)
 * with reverse edges and self loops added, duplicates removed and w = 1/deg(src).
 */
import { quoteIdent, type SqlEngine } from '../src/exec/sql/index.js';

/** `n` rows of one integer column `col`, as a FROM item. */
export function seriesSql(e: SqlEngine, n: number, col: string): string {
  return e.dialect.name === 'duckdb' ? `range(0, ${n}) AS t_${col}(${col})` : `generate_series(0, ${n - 1}) AS t_${col}(${col})`;
}

/** Creates raw_edges, edges0 and edges in `schema` for N nodes and M generated edges. */
export async function createEdgeTables(e: SqlEngine, schema: string, N: number, M: number): Promise<void> {
  const d = e.dialect, q = (t: string) => `${quoteIdent(schema)}.${quoteIdent(t)}`;
  // PostgreSQL plans each next statement from statistics (without them it guesses, e.g. 40,000 distinct
  // edges for 2.5 M). A slow full-size DISTINCT there is work_mem's doing (sql_gcn.ts PG_WORK_MEM).
  const analyze = async (t: string) => { if (d.name === 'postgres') await e.exec(`ANALYZE ${q(t)}`); };
  await e.exec(`CREATE TABLE ${q('raw_edges')} AS SELECT CAST((CAST(e AS BIGINT) * 2654435761) % ${N} AS INTEGER) AS src, CAST((CAST(e AS BIGINT) * 40503 + ${d.intDiv('CAST(e AS BIGINT)', String(N))} * 7 + 12345) % ${N} AS INTEGER) AS dst FROM ${seriesSql(e, M, 'e')}`);
  await analyze('raw_edges');
  await e.exec(`CREATE TABLE ${q('edges0')} AS SELECT DISTINCT src, dst FROM (SELECT src, dst FROM ${q('raw_edges')} UNION ALL SELECT dst, src FROM ${q('raw_edges')} UNION ALL SELECT n, n FROM ${seriesSql(e, N, 'n')}) AS u`);
  await analyze('edges0');
  await e.exec(`CREATE TABLE ${q('edges')} AS SELECT g.src, g.dst, CAST(1 AS ${d.double}) / c.deg AS w FROM ${q('edges0')} AS g JOIN (SELECT src, COUNT(*) AS deg FROM ${q('edges0')} GROUP BY src) AS c ON g.src = c.src`);
  await analyze('edges');
}
