/**
 * How fast can SQL itself do a GCN's sparse products? Hand-written statements, no relml plan in between,
 * on the graph of bench/sql_gcn.ts (bench/gcn_sql.ts):
 *   node dist/bench/sql_spmm_bound.js [--scale 1] [--widths 128,40] [--engines duckdb,postgres] [--runs 3] [--pg-work-mem 1GB|default]
 * For each width k it times Y = A·H, H a dense [nodes, k] matrix, in two layouts:
 *   rows     H as (node, col, v) rows: JOIN edges ON src = node, GROUP BY (dst, col) — the layout relml's
 *            scalar payload uses;
 *   columns  H as one row per node with k DOUBLE columns: JOIN, GROUP BY dst with k SUMs — as wide as SQL
 *            can vectorise it (DuckDB's hash aggregate updates k column states per joined row).
 * An epoch of the two-layer GCN (hidden 128, 40 classes) has four such products: A·H and Aᵀ·G at width 128
 * and at width 40 (Aᵀ reads the same edges with src and dst swapped). Their sum in the faster layout is a
 * floor for any SQL-evaluated epoch on this machine, before any dense product or softmax.
 */
import { duckdbExecutor, postgresExecutor, quoteIdent, type SqlExecutor } from '../src/exec/sql/index.js';
import { analyzeTable, createEdgeTables, dropStaleSchemas, pgConnection, seriesSql } from './gcn_sql.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SCALE = Number(arg('scale', '1'));
const N = Math.max(10, Math.round(169_343 * SCALE)), M = Math.max(10, Math.round(1_166_243 * SCALE));
const WIDTHS = arg('widths', '128,40').split(',').map(Number);
const ENGINES = arg('engines', 'duckdb').split(',');
const RUNS = Number(arg('runs', '3'));
const PG_URL = process.env.RELML_PG_URL ?? 'postgres://relml:relml@127.0.0.1:5432/relml_test';
/** PostgreSQL's work_mem for the session (gcn_sql.ts pgConnection). */
const PG_CONFIG = pgConnection(PG_URL, arg('pg-work-mem', '1GB'));

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

async function bound(name: string, ex: SqlExecutor): Promise<void> {
  const e = ex.engine, d = e.dialect, schema = `relml_bench_bound_${process.pid}`;
  const q = (t: string) => `${quoteIdent(schema)}.${quoteIdent(t)}`;
  const series = (n: number, col: string) => seriesSql(e, n, col);
  const timed = async (sql: string): Promise<number> => { const t0 = performance.now(); await e.exec(sql); return (performance.now() - t0) / 1000; };
  await dropStaleSchemas(e, 'relml_bench_bound_');
  await e.exec(`CREATE SCHEMA ${quoteIdent(schema)}`);
  try {
    await createEdgeTables(e, schema, N, M);
    const nnz = (await e.query(`SELECT COUNT(*) FROM ${q('edges')}`))[0]![0]!;
    console.log(`${name}: ${N} nodes, ${nnz} nonzeros`);
    const total: Record<string, number> = { rows: 0, columns: 0 };
    for (const k of WIDTHS) {
      const val = (n: string, c: string) => `CAST((${n} * 131 + ${c} * 31) % 97 AS ${d.double}) / 97 - 0.5`;
      await e.exec(`CREATE TABLE ${q(`hr${k}`)} AS SELECT CAST(n AS INTEGER) AS node, CAST(c AS INTEGER) AS col, ${val('n', 'c')} AS v FROM ${series(N, 'n')} CROSS JOIN ${series(k, 'c')}`);
      const cols = Array.from({ length: k }, (_, c) => c);
      await e.exec(`CREATE TABLE ${q(`hc${k}`)} AS SELECT CAST(n AS INTEGER) AS node, ${cols.map((c) => `${val('n', String(c))} AS c${c}`).join(', ')} FROM ${series(N, 'n')}`);
      for (const t of [`hr${k}`, `hc${k}`]) await analyzeTable(e, schema, t);
      const stmts = {
        rows: `CREATE TABLE ${q('y')} AS SELECT a.dst AS node, h.col, SUM(a.w * h.v) AS v FROM ${q('edges')} AS a JOIN ${q(`hr${k}`)} AS h ON h.node = a.src GROUP BY a.dst, h.col`,
        columns: `CREATE TABLE ${q('y')} AS SELECT a.dst AS node, ${cols.map((c) => `SUM(a.w * h.c${c}) AS c${c}`).join(', ')} FROM ${q('edges')} AS a JOIN ${q(`hc${k}`)} AS h ON h.node = a.src GROUP BY a.dst`,
      };
      for (const [layout, sql] of Object.entries(stmts)) {
        const secs: number[] = [];
        for (let r = 0; r < RUNS; r++) { secs.push(await timed(sql)); await e.exec(`DROP TABLE ${q('y')}`); }
        console.log(`${name}: A·H, width ${k}, ${layout}: ${secs.map((s) => s.toFixed(2)).join(', ')} s (median ${median(secs).toFixed(2)})`);
        total[layout]! += 2 * median(secs);
      }
    }
    console.log(`RESULT ${name}: an epoch's four sparse products (A·H and Aᵀ·G at widths ${WIDTHS.join(', ')}): rows ${total.rows!.toFixed(1)} s, columns ${total.columns!.toFixed(1)} s`);
  } finally {
    await e.exec(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  }
}

for (const name of ENGINES) {
  let ex: SqlExecutor;
  if (name === 'duckdb') ex = await duckdbExecutor();
  else if (name === 'postgres') {
    try { ex = await postgresExecutor(PG_CONFIG); } catch (err) { console.log(`postgres skipped: ${(err as Error).message}`); continue; }
  } else { console.error(`unknown engine '${name}' (duckdb, postgres)`); process.exit(2); }
  try { await bound(name, ex); } finally { await ex.close(); }
}
