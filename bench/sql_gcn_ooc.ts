/**
 * Out-of-core pieces of bench/sql_gcn.ts: the feature matrix stored as tiles (one DOUBLE[] / float8[] list
 * per row block × feature block, the executor's tile payload, bound with SqlTable's `tile` column) and the
 * on-disk size of what was generated. Stored tiles are what lets a large feature matrix go through the
 * tile products under a small memory_limit: the products read row / column vectors as list slices of the
 * stored tiles, with no list() aggregate (whose states cannot spill) over the whole matrix.
 */
import { statSync } from 'node:fs';
import { quoteIdent, type SqlExecutor } from '../src/exec/sql/index.js';

export interface TileFeatureSpec { N: number; F: number; B: number; FT: number; hashed: boolean }

/** The feature value of (node n, feature f) as SQL over integer expressions (the JS twin is featureOf). */
export function featureSql(n: string, f: string, hashed: boolean, double: string): string {
  return hashed
    ? `CAST((CAST(${n} AS BIGINT) * 2654435761 + CAST(${f} AS BIGINT) * 40503) % 2147483647 AS ${double}) / 2147483647 - 0.5`
    : `CAST((${n} * 131 + ${f} * 31) % 97 AS ${double}) / 97 - 0.5`;
}
/** `hashed`: values with ~31 random bits each, which the engines cannot compress (the tables' size is real). */
export const featureOf = (hashed: boolean) => (hashed
  ? (n: number, f: number) => ((n * 2654435761 + f * 40503) % 2147483647) / 2147483647 - 0.5
  : (n: number, f: number) => ((n * 131 + f * 31) % 97) / 97 - 0.5);

/** features_tiles(kb, kf, t): tile (kb, kf) holds rows kb·B… and features kf·FT… row-major; generated in batches. */
export async function setupTileFeatures(ex: SqlExecutor, schema: string, s: TileFeatureSpec): Promise<void> {
  const e = ex.engine, d = e.dialect, tbl = `${quoteIdent(schema)}.${quoteIdent('features_tiles')}`;
  const nb = Math.ceil(s.N / s.B), nf = Math.ceil(s.F / s.FT);
  await e.exec(`CREATE TABLE ${tbl} (kb INTEGER, kf INTEGER, t ${d.doubleList})`);
  const rows = `LEAST(${s.B}, ${s.N} - kb * ${s.B})`, cols = `LEAST(${s.FT}, ${s.F} - kf * ${s.FT})`;
  const x = (p: string) => featureSql(`(kb * ${s.B} + ${d.intDiv(p, cols)})`, `(kf * ${s.FT} + (${p}) % ${cols})`, s.hashed, d.double);
  const list = d.name === 'duckdb'
    ? `list_transform(range(${rows} * ${cols}), p -> ${x('p')})`
    : `ARRAY(SELECT ${x('p')} FROM generate_series(0, ${rows} * ${cols} - 1) AS g(p) ORDER BY p)`;
  // Batches of row blocks keep each statement's working set small (a vector of 2048 long lists is large).
  const step = Math.max(1, Math.floor(2 ** 24 / (s.B * s.FT * nf)));
  for (let b0 = 0; b0 < nb; b0 += step) {
    const blocks = d.name === 'duckdb' ? `range(${b0}, ${Math.min(nb, b0 + step)}) AS tb(kb)` : `generate_series(${b0}, ${Math.min(nb, b0 + step) - 1}) AS tb(kb)`;
    const feats = d.name === 'duckdb' ? `range(0, ${nf}) AS tf(kf)` : `generate_series(0, ${nf - 1}) AS tf(kf)`;
    await e.exec(`INSERT INTO ${tbl} SELECT CAST(kb AS INTEGER), CAST(kf AS INTEGER), ${list} FROM ${blocks} CROSS JOIN ${feats}`);
  }
}

/** What the generated tables take on disk (DuckDB file after a checkpoint; PostgreSQL relation sizes). */
export async function reportSizes(ex: SqlExecutor, schema: string, dbPath: string): Promise<string> {
  const e = ex.engine;
  if (e.dialect.name === 'duckdb') {
    if (dbPath === ':memory:') return 'in memory';
    await e.exec('CHECKPOINT');
    const [used, block] = (await e.query('SELECT used_blocks, block_size FROM pragma_database_size()')).map((c) => c[0]!);
    return `database file ${(statSync(dbPath).size / 2 ** 30).toFixed(2)} GiB (${((used! * block!) / 2 ** 30).toFixed(2)} GiB in used blocks)`;
  }
  const cols = await e.query(`SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`.replace('$1', `'${schema.replace(/'/g, "''")}'`));
  return `tables ${((cols[0]?.[0] ?? 0) / 2 ** 30).toFixed(2)} GiB`;
}
