/**
 * Dense tile products inside the databases: einsum "ik,kj->ij" of two n x n float64 matrices, one tile
 * or tiled in blocks, as a full TRA plan (load, join, aggregate, read back), on
 *   - DuckDB, scalar rows (join on the contracted index + GROUP BY: n^3 intermediate rows),
 *   - DuckDB, list_dot_product (rows and columns gathered into lists: n^2 dot products of length k),
 *   - DuckDB, tile payload (payload 'tile': operands stored as one list per tile, vectors read as list
 *     slices; see src/exec/sql/payload.ts), blob payload (payload 'blob': one BLOB per tile, the product
 *     one call of relml's kernel registered as a DuckDB function; lower_blob.ts), and the default rule ('auto'),
 *   - PostgreSQL, scalar rows and float8[] tiles (when reachable at RELML_PG_URL),
 *   - the reference executor in process.
 *   node dist/bench/sql_matmul.js [--sizes 32,64,128,256] [--tile 0] [--runs 3] [--op matmul|ewise]
 * (--op ewise: an elementwise chain relu(tanh(A·B) - A) ⊙ B instead of the product, where stored tiles
 * are lowered on the lists themselves.)
 * (--tile 0 = one tile). Prints the median seconds per run and the speed-up of lists over scalar rows;
 * the crossover sets DEFAULT_LIST_DOT_MIN.
 */
import { duckdbExecutor, postgresExecutor, type SqlExecutor } from '../src/exec/sql/index.js';
import { einsum, input, mul, relu, runSync, sub, tanh, toPlan } from '../src/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SIZES = arg('sizes', '32,64,128,256').split(',').map(Number);
const TILE = Number(arg('tile', '0'));
const RUNS = Number(arg('runs', '3'));
const OP = arg('op', 'matmul');
const PG_URL = process.env.RELML_PG_URL ?? 'postgres://relml:relml@127.0.0.1:5432/relml_test';
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let r = 0; r < RUNS; r++) { const t0 = performance.now(); await fn(); ts.push((performance.now() - t0) / 1000); }
  return median(ts);
}

const scalarDuck = await duckdbExecutor({ listDotMin: Infinity, payload: 'scalar' });
const listDuck = await duckdbExecutor({ listDotMin: 1, payload: 'scalar' });
const tileDuck = await duckdbExecutor({ listDotMin: 1, payload: 'tile' });
const autoDuck = await duckdbExecutor();
const blobDuck = await duckdbExecutor({ payload: 'blob' });
let pg: SqlExecutor | undefined, pgTile: SqlExecutor | undefined;
try { pg = await postgresExecutor(PG_URL, { payload: 'scalar' }); pgTile = await postgresExecutor(PG_URL, { payload: 'tile' }); } catch (e) { console.log(`(PostgreSQL skipped: ${(e as Error).message})`); }

console.log(`n\ttile\tduckdb-scalar s\tduckdb-lists s\tlists speed-up\tduckdb-tiles s\tduckdb-blobs s\tblobs vs lists\tduckdb-auto s\tpostgres s\tpostgres-tiles s\treference s`);
for (const n of SIZES) {
  const t = TILE > 0 ? Math.min(TILE, n) : n;
  const A = input('A', [n, n], { dtype: 'float64', tile: [t, t] }), B = input('B', [n, n], { dtype: 'float64', tile: [t, t] });
  const plan = toPlan({ C: OP === 'ewise' ? mul(relu(sub(tanh(mul(A, B)), A)), B) : einsum('ik,kj->ij', A, B) });
  const data = (s: number) => Float64Array.from({ length: n * n }, (_, i) => Math.sin(i * 0.37 + s));
  const b = { A: { shape: [n, n], data: data(1) }, B: { shape: [n, n], data: data(2) } };
  const skipScalar = n > 256;
  const ts = skipScalar ? NaN : await time(() => scalarDuck.run(plan, b));
  const tl = await time(() => listDuck.run(plan, b));
  const tt = await time(() => tileDuck.run(plan, b));
  const tb = await time(() => blobDuck.run(plan, b));
  const ta = await time(() => autoDuck.run(plan, b));
  const tp = pg && n <= 128 ? await time(() => pg!.run(plan, b)) : NaN;
  const tpt = pgTile && n <= 128 ? await time(() => pgTile!.run(plan, b)) : NaN;
  const tr = await time(() => runSync(plan, b));
  console.log(`${n}\t${t}\t${ts.toFixed(3)}\t${tl.toFixed(3)}\t${(ts / tl).toFixed(1)}x\t${tt.toFixed(3)}\t${tb.toFixed(3)}\t${(tl / tb).toFixed(1)}x\t${ta.toFixed(3)}\t${tp.toFixed(3)}\t${tpt.toFixed(3)}\t${tr.toFixed(4)}`);
}
await scalarDuck.close(); await listDuck.close(); await tileDuck.close(); await autoDuck.close(); await blobDuck.close(); await pg?.close(); await pgTile?.close();
