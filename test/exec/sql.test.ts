/**
 * SQL executor conformance: the core's random einsum cases and random gradient programs (value and
 * gradient plans) run on DuckDB and on PostgreSQL and must equal the reference executor in float64
 * (max |a-b| / max(1,|b|) < 1e-9, same tuple keys). PostgreSQL is reached over TCP at RELML_PG_URL
 * (default postgres://relml:relml@127.0.0.1:5432/relml_test, which .ci/postgres.sh sets up; see test/helpers/sql.ts); its tests
 * skip with a message only when no server is reachable, unless RELML_REQUIRE_PG=1 (as in CI).
 * 'duckdb-lists' forces the dense tile product (list_dot_product) wherever a join's einsum allows it, and
 * the key contraction (keyDot: sums over joined key dimensions as dot products of zero-filled vectors)
 * wherever a fused join + sum allows it. '…-tiles' stores every relation with complete tiles as one list per
 * tile (payload 'tile', payload.ts), on DuckDB (where tile products read slices of the stored lists) and
 * on PostgreSQL (float8[]); the plain configurations use the default rule ('auto'). 'duckdb-tiles-nogather'
 * forbids list() gathers (gatherMax 0, as under a tight memory_limit): products slice stored tiles or
 * fall back to join + GROUP BY. 'duckdb-blobs' stores every relation as one blob per tile and runs every
 * kernel as one of relml's registered functions (payload 'blob').
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { einsum, gradPlan, Plan, runSync, tensor, toPlan } from '../../src/index.js';
import * as r from '../../src/index.js';
import { duckdbExecutor, quoteIdent, SqlTable, type SqlExecutor } from '../../src/exec/sql/index.js';
import { KeyError } from '../../src/errors.js';
import { randomData, randomTiling, rng, size } from '../helpers/dense.js';
import { einsumCaseArb } from '../helpers/einsum_cases.js';
import { randomProgram } from '../helpers/programs.js';
import { assertSameRelation, ENGINES, insertRows, openEngine } from '../helpers/sql.js';

const EINSUM_CASES = Number(process.env.RELML_SQL_EINSUM_CASES ?? 60);
const GRAD_CASES = Number(process.env.RELML_SQL_GRAD_CASES ?? 40);

const einsumCases = fc.sample(einsumCaseArb, { numRuns: EINSUM_CASES, seed: 20261129 });
const gradSeeds = fc.sample(fc.integer({ min: 1, max: 2 ** 30 }), { numRuns: GRAD_CASES, seed: 777 });

function einsumPlan(c: (typeof einsumCases)[number]): Plan {
  const rr = rng(c.seed ^ 0x9e3779b9);
  const data = c.shapes.map((s) => randomData(size(s), rr));
  const ts = c.shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: randomTiling(s, rr) }));
  return toPlan(einsum(c.spec, ...ts));
}

function gradCase(seed: number): { plan: Plan; bindings: Record<string, { shape: number[]; data: Float64Array }>; ops: string } {
  const prog = randomProgram(seed);
  const rand = rng(seed ^ 0x5bd1e995);
  const data = prog.shapes.map((s) => randomData(size(s), rand, -1.5, 1.5));
  const args = prog.shapes.map((s, i) => r.tensor(data[i]!, { shape: s, dtype: 'float64', tile: prog.tiles[i] }));
  const plan = gradPlan((...ts) => prog.build(ts), args, args.map((_, i) => i));
  const bindings = Object.fromEntries(data.map((d, i) => [`arg${i}`, { shape: prog.shapes[i]!, data: d }]));
  return { plan, bindings, ops: prog.ops.join(' -> ') };
}

const CONFIGS = [...ENGINES, 'duckdb-lists', 'duckdb-tiles', 'postgres-tiles', 'duckdb-tiles-nogather', 'duckdb-blobs'] as const;
const OPEN: Record<(typeof CONFIGS)[number], () => Promise<SqlExecutor | string>> = {
  duckdb: () => openEngine('duckdb'),
  postgres: () => openEngine('postgres'),
  'duckdb-lists': () => duckdbExecutor({ listDotMin: 1, keyDotMinTile: 1 }),
  'duckdb-tiles': () => openEngine('duckdb', { payload: 'tile', listDotMin: 1, keyDotMinTile: 1 }),
  'postgres-tiles': () => openEngine('postgres', { payload: 'tile' }),
  // As under a small memory_limit: list products only where both operands are sliced from stored tiles.
  'duckdb-tiles-nogather': () => openEngine('duckdb', { payload: 'tile', listDotMin: 1, keyDotMinTile: 1, gatherMax: 0 }),
  // Every kernel a registered function on tile blobs (lower_blob.ts, duckdb_kernels.ts).
  'duckdb-blobs': () => openEngine('duckdb', { payload: 'blob' }),
};

// PostgreSQL's float8[] payload costs ~30x per plan (unnest / ARRAY subqueries per tile): a third of the cases.
const share = (engine: string, n: number): number => (engine === 'postgres-tiles' ? Math.ceil(n / 3) : n);

for (const engine of CONFIGS) {
  const einsumSet = einsumCases.slice(0, share(engine, einsumCases.length)), gradSet = gradSeeds.slice(0, share(engine, gradSeeds.length));
  describe(`SQL executor on ${engine}`, () => {
    let ex: SqlExecutor | undefined;
    let skip: string | undefined;
    before(async () => {
      const got = await OPEN[engine]();
      if (typeof got === 'string') { skip = got; console.log(`SKIP ${engine}: ${got}`); } else ex = got;
    });
    after(async () => { await ex?.close(); });

    test(`${einsumSet.length} random einsums equal the reference executor (float64, 1e-9)`, async (t) => {
      if (skip) { t.skip(skip); return; }
      let worst = 0;
      const t0 = performance.now();
      for (const c of einsumSet) {
        const plan = einsumPlan(c);
        const want = runSync(plan, {}, { precision: 'float64' });
        const got = await ex!.run(plan, {}, { precision: 'float64' });
        worst = Math.max(worst, assertSameRelation(got[0]!, want[0]!, `${engine} einsum ${c.spec} shapes ${JSON.stringify(c.shapes)}`));
      }
      console.log(`${engine}: ${einsumSet.length} einsum cases, worst rel err ${worst.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    });

    test(`${gradSet.length} random gradient programs (value + gradients) equal the reference executor (float64, 1e-9)`, async (t) => {
      if (skip) { t.skip(skip); return; }
      let worst = 0, nodes = 0;
      const t0 = performance.now();
      for (const seed of gradSet) {
        const { plan, bindings, ops } = gradCase(seed);
        nodes += plan.nodes().length;
        const want = runSync(plan, bindings, { precision: 'float64' });
        const got = await ex!.run(plan, bindings, { precision: 'float64' });
        want.forEach((w, j) => { worst = Math.max(worst, assertSameRelation(got[j]!, w, `${engine} program ${ops} (seed ${seed}) output ${plan.names[j]}`)); });
      }
      console.log(`${engine}: ${gradSet.length} gradient programs (${nodes} plan nodes), worst rel err ${worst.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    });
  });
}

describe('SQL executor on DuckDB: key contraction (keyDot)', () => {
  // A layer's weight gradient over row tiles: sum over rows j of X_j^T G_j, including ragged row blocks
  // and vectors longer than KEY_DOT_CHUNK (16,500 rows: two chunks).
  test('weight gradients over row tiles equal the reference and run as one keyDot statement', async () => {
    // Scalar payloads: keyDot is the path for relations stored as rows (stored tiles use tile slices).
    const ex = await duckdbExecutor({ payload: 'scalar' });
    try {
      for (const [N, F, C, bt] of [[37, 16, 12, 1], [50, 16, 9, 8], [23, 12, 16, 5], [16500, 8, 8, 1]] as const) {
        const rr = rng(N * 31 + F);
        const x = randomData(N * F, rr), w = randomData(F * C, rr);
        const X = r.tensor(x, { shape: [N, F], dtype: 'float64', tile: [bt, F] });
        const W = r.tensor(w, { shape: [F, C], dtype: 'float64' });
        const plan = gradPlan((a, b) => r.sum(r.square(r.einsum('jf,fc->jc', a, b))), [X, W], [1]);
        const bindings = { arg0: { shape: [N, F], data: x }, arg1: { shape: [F, C], data: w } };
        const want = runSync(plan, bindings, { precision: 'float64' });
        const got = await ex.run(plan, bindings, { precision: 'float64' });
        want.forEach((w, j) => assertSameRelation(got[j]!, w, `keyDot N=${N} F=${F} C=${C} tile ${bt} output ${j}`));
        const kd = ex.lastStatements.filter((s) => s.includes('list_dot_product(l.vec, r.vec)') && s.includes('CROSS JOIN range(0'));
        if (kd.length !== 1) throw new Error(`expected one keyDot statement, got ${kd.length}`);
      }
    } finally {
      await ex.close();
    }
  });
});

describe('SQL executor: bound tile tables (one list per tile) and dense scalar tables', () => {
  // X (N x F, row blocks of bt rows) stored as one DOUBLE[] / float8[] per block, generated in SQL as
  // sin(row * 7 + col); W (F x C) as dense scalar rows. The weight gradient Xᵀ·G reads X's stored tiles
  // (list slices on DuckDB, unnested on PostgreSQL) and must equal the reference.
  const N = 37, F = 12, C = 5, bt = 8;
  const x = Float64Array.from({ length: N * F }, (_, j) => Math.sin(Math.floor(j / F) * 7 + (j % F)));
  const w = Float64Array.from({ length: F * C }, (_, j) => Math.cos(j));
  const X = r.tensor(x, { shape: [N, F], dtype: 'float64', tile: [bt, F] });
  const W = r.tensor(w, { shape: [F, C], dtype: 'float64' });
  const plan = gradPlan((a, b) => r.sum(r.square(r.einsum('jf,fc->jc', a, b))), [X, W], [1]);
  const want = runSync(plan, { arg0: { shape: [N, F], data: x }, arg1: { shape: [F, C], data: w } }, { precision: 'float64' });
  for (const engine of ENGINES) {
    for (const payload of ['auto', 'tile', 'scalar'] as const) {
      test(`${engine}, payload ${payload}`, async (t) => {
        const ex = await openEngine(engine, { payload, listDotMin: 1 });
        if (typeof ex === 'string') { t.skip(ex); return; }
        const s = `relml_tiles_${process.pid}_${payload}`;
        try {
          const d = ex.engine.dialect, q = (n: string) => `${quoteIdent(s)}.${quoteIdent(n)}`;
          const rows = `LEAST(${bt}, ${N} - kb * ${bt})`, val = (p: string) => `sin((kb * ${bt} + ${d.intDiv(p, String(F))}) * 7 + (${p}) % ${F})`;
          const list = d.name === 'duckdb' ? `list_transform(range(${rows} * ${F}), p -> ${val('p')})` : `ARRAY(SELECT ${val('p')} FROM generate_series(0, ${rows} * ${F} - 1) AS g(p) ORDER BY p)`;
          const blocks = d.name === 'duckdb' ? `range(0, ${Math.ceil(N / bt)}) AS b(kb)` : `generate_series(0, ${Math.ceil(N / bt) - 1}) AS b(kb)`;
          await ex.engine.exec(`CREATE SCHEMA ${quoteIdent(s)}`);
          await ex.engine.exec(`CREATE TABLE ${q('xt')} AS SELECT CAST(kb AS INTEGER) AS kb, ${list} AS t FROM ${blocks}`);
          await ex.engine.exec(`CREATE TABLE ${q('w')} (f INTEGER, c INTEGER, v ${d.double})`);
          await insertRows(ex, s, 'w', Array.from(w, (v, j) => [Math.floor(j / C), j % C, v]));
          const got = await ex.run(plan, {
            arg0: new SqlTable({ table: 'xt', schema: s, keys: ['kb', null], tile: 't' }),
            arg1: new SqlTable({ table: 'w', schema: s, keys: [null, null], index: ['f', 'c'], value: 'v', dense: true }),
          }, { precision: 'float64' });
          want.forEach((wv, j) => assertSameRelation(got[j]!, wv, `${engine} ${payload} output ${plan.names[j]}`));
          if (engine === 'duckdb' && payload !== 'scalar') assert.ok(ex.lastStatements.some((q2) => q2.includes('list_slice(x.t')), 'the product reads slices of the stored tiles');
          // A tile of the wrong length is a KeyError naming the table.
          await ex.engine.exec(`UPDATE ${q('xt')} SET t = ${d.name === 'duckdb' ? 'list_slice(t, 1, 3)' : 't[1:3]'} WHERE kb = 1`);
          await assert.rejects(ex.run(plan, { arg0: new SqlTable({ table: 'xt', schema: s, keys: ['kb', null], tile: 't' }), arg1: new SqlTable({ table: 'w', schema: s, keys: [null, null], index: ['f', 'c'], value: 'v', dense: true }) }), (e: Error) => e instanceof KeyError && /wrong length/.test(e.message));
          // A dense table that misses an element is a KeyError too.
          await ex.engine.exec(`DELETE FROM ${q('w')} WHERE f = 2 AND c = 3`);
          await assert.rejects(ex.run(plan, { arg0: { shape: [N, F], data: x }, arg1: new SqlTable({ table: 'w', schema: s, keys: [null, null], index: ['f', 'c'], value: 'v', dense: true }) }), (e: Error) => e instanceof KeyError && /declared dense/.test(e.message));
        } finally {
          await ex.engine.exec(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
          await ex.close();
        }
      });
    }
  }
});
