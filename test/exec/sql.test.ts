/**
 * SQL executor conformance: the core's random einsum cases and random gradient programs (value and
 * gradient plans) run on DuckDB and on PostgreSQL and must equal the reference executor in float64
 * (max |a-b| / max(1,|b|) < 1e-9, same tuple keys). PostgreSQL is reached over TCP at RELML_PG_URL
 * (default postgres://relml:relml@127.0.0.1:5432/relml_test, which .ci/postgres.sh sets up); its tests
 * skip with a message only when no server is reachable, unless RELML_REQUIRE_PG=1 (as in CI).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { einsum, gradPlan, Plan, Relation, runSync, tensor, toPlan } from '../../src/index.js';
import * as r from '../../src/index.js';
import { duckdbExecutor, postgresExecutor, SqlExecutor } from '../../src/exec/sql/index.js';
import { keyString } from '../../src/tra/relation.js';
import { maxRelErr, randomData, randomTiling, rng, size } from '../helpers/dense.js';
import { einsumCaseArb } from '../helpers/einsum_cases.js';
import { randomProgram } from '../helpers/programs.js';

export const PG_URL = process.env.RELML_PG_URL ?? 'postgres://relml:relml@127.0.0.1:5432/relml_test';
const EINSUM_CASES = Number(process.env.RELML_SQL_EINSUM_CASES ?? 60);
const GRAD_CASES = Number(process.env.RELML_SQL_GRAD_CASES ?? 40);

/** Opens the PostgreSQL executor, or explains why not (throwing when RELML_REQUIRE_PG=1). */
export async function openPostgres(): Promise<SqlExecutor | string> {
  try {
    return await postgresExecutor(PG_URL);
  } catch (e) {
    const msg = `PostgreSQL not reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')} (${(e as Error).message}); run .ci/postgres.sh as root to set it up`;
    if (process.env.RELML_REQUIRE_PG === '1') throw new Error(msg);
    return msg;
  }
}

/** Same keys, and every tile within 1e-9 (relative, floor 1). Returns the worst error. */
export function assertSameRelation(got: Relation, want: Relation, what: string): number {
  assert.equal(got.size, want.size, `${what}: ${got.size} tuples, reference has ${want.size} (keys ${[...got.tuples()].map((t) => `(${t.key})`).join(' ')} vs ${[...want.tuples()].map((t) => `(${t.key})`).join(' ')})`);
  let worst = 0;
  for (const w of want.tuples()) {
    const g = got.get(w.key);
    assert.ok(g, `${what}: key (${keyString(w.key)}) missing`);
    assert.deepEqual([...g.shape], [...w.tile.shape], `${what}: tile shape at (${w.key})`);
    const e = maxRelErr(g.data, w.tile.data);
    worst = Math.max(worst, e);
    assert.ok(e < 1e-9, `${what}: key (${w.key}) differs: max rel err ${e}`);
  }
  return worst;
}

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

for (const engine of ['duckdb', 'postgres'] as const) {
  describe(`SQL executor on ${engine}`, () => {
    let ex: SqlExecutor | undefined;
    let skip: string | undefined;
    before(async () => {
      if (engine === 'duckdb') ex = await duckdbExecutor();
      else {
        const got = await openPostgres();
        if (typeof got === 'string') { skip = got; console.log(`SKIP postgres: ${got}`); } else ex = got;
      }
    });
    after(async () => { await ex?.close(); });

    test(`${EINSUM_CASES} random einsums equal the reference executor (float64, 1e-9)`, async (t) => {
      if (skip) { t.skip(skip); return; }
      let worst = 0;
      const t0 = performance.now();
      for (const c of einsumCases) {
        const plan = einsumPlan(c);
        const want = runSync(plan, {}, { precision: 'float64' });
        const got = await ex!.run(plan, {}, { precision: 'float64' });
        worst = Math.max(worst, assertSameRelation(got[0]!, want[0]!, `${engine} einsum ${c.spec} shapes ${JSON.stringify(c.shapes)}`));
      }
      console.log(`${engine}: ${einsumCases.length} einsum cases, worst rel err ${worst.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    });

    test(`${GRAD_CASES} random gradient programs (value + gradients) equal the reference executor (float64, 1e-9)`, async (t) => {
      if (skip) { t.skip(skip); return; }
      let worst = 0, nodes = 0;
      const t0 = performance.now();
      for (const seed of gradSeeds) {
        const { plan, bindings, ops } = gradCase(seed);
        nodes += plan.nodes().length;
        const want = runSync(plan, bindings, { precision: 'float64' });
        const got = await ex!.run(plan, bindings, { precision: 'float64' });
        want.forEach((w, j) => { worst = Math.max(worst, assertSameRelation(got[j]!, w, `${engine} program ${ops} (seed ${seed}) output ${plan.names[j]}`)); });
      }
      console.log(`${engine}: ${gradSeeds.length} gradient programs (${nodes} plan nodes), worst rel err ${worst.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    });
  });
}
