/**
 * Per-statement times of one SQL plan run: wraps an executor's engine so that every statement's wall time
 * is recorded, then prints the slowest. Used by sql_gcn.ts --profile.
 */
import type { SqlExecutor } from '../src/exec/sql/index.js';

export function profileEngine(ex: SqlExecutor): () => string {
  const e = ex.engine as { exec: (sql: string, p?: readonly number[]) => Promise<number> };
  const orig = e.exec.bind(e);
  const rows: { ms: number; sql: string }[] = [];
  e.exec = async (sql, p) => {
    const t0 = performance.now();
    try { return await orig(sql, p); } finally { rows.push({ ms: performance.now() - t0, sql }); }
  };
  return () => {
    const top = [...rows].sort((a, b) => b.ms - a.ms).slice(0, 12);
    rows.length = 0;
    return top.map((r) => `${(r.ms / 1000).toFixed(2)} s  ${r.sql.slice(0, 260)}`).join('\n');
  };
}
