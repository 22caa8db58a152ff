/**
 * Per-statement times of one SQL plan run: wraps an executor's engine so that every statement's wall time
 * is recorded, then prints the slowest. Used by sql_gcn.ts --profile (and --progress).
 */
import type { SqlExecutor } from '../src/exec/sql/index.js';

/** With `progress`, each statement that took over 2 s is reported as it finishes (long epochs show they move). */
export function profileEngine(ex: SqlExecutor, progress?: (line: string) => void): () => string {
  const e = ex.engine as { exec: (sql: string, p?: readonly number[]) => Promise<number> };
  const orig = e.exec.bind(e);
  const rows: { ms: number; sql: string }[] = [];
  e.exec = async (sql, p) => {
    const t0 = performance.now();
    try { return await orig(sql, p); } finally {
      const ms = performance.now() - t0;
      rows.push({ ms, sql });
      if (progress && ms > 2000) progress(`  statement ${rows.length} done in ${(ms / 1000).toFixed(1)} s: ${sql.slice(0, 60)}…`);
    }
  };
  return () => {
    const top = [...rows].sort((a, b) => b.ms - a.ms).slice(0, 12);
    rows.length = 0;
    return top.map((r) => `${(r.ms / 1000).toFixed(2)} s  ${r.sql.slice(0, 260)}`).join('\n');
  };
}
