/** Test helpers for the SQL executor: engines, a private schema per test process, parameterised inserts. */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Relation } from '../../src/index.js';
import { keyString } from '../../src/tra/relation.js';
import { maxRelErr } from './dense.js';
import { duckdbExecutor, postgresExecutor, quoteIdent, quoteTable, type SqlExecutor, type SqlExecutorOptions } from '../../src/exec/sql/index.js';

export const PG_URL = process.env.RELML_PG_URL ?? 'postgres://relml:relml@127.0.0.1:5432/relml_test';
export const ENGINES = ['duckdb', 'postgres'] as const;
export type EngineName = (typeof ENGINES)[number];
/**
 * The engine configurations the training tests run on: each engine with its default payload, and DuckDB
 * with every kernel a registered function on tile blobs (payload 'blob', lower_blob.ts).
 */
export const TRAIN_CONFIGS: readonly { label: string; engine: EngineName; opts: SqlExecutorOptions }[] = [
  { label: 'duckdb', engine: 'duckdb', opts: {} },
  { label: 'postgres', engine: 'postgres', opts: {} },
  { label: 'duckdb-blobs', engine: 'duckdb', opts: { payload: 'blob' } },
];

/** Opens an executor, or returns why PostgreSQL is not reachable (throwing instead when RELML_REQUIRE_PG=1). */
export async function openEngine(engine: EngineName, opts: SqlExecutorOptions = {}): Promise<SqlExecutor | string> {
  if (engine === 'duckdb') return duckdbExecutor(opts);
  try {
    return await postgresExecutor(PG_URL, opts);
  } catch (e) {
    const msg = `PostgreSQL not reachable at ${PG_URL.replace(/:[^:@/]*@/, ':***@')} (${(e as Error).message}); run .ci/postgres.sh as root to set it up`;
    if (process.env.RELML_REQUIRE_PG === '1') throw new Error(msg);
    return msg;
  }
}

/** A schema private to this test process (several test runs may share one PostgreSQL database). */
export async function privateSchema(ex: SqlExecutor, tag: string): Promise<string> {
  const name = `relml_${tag}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  await ex.engine.exec(`CREATE SCHEMA ${quoteIdent(name)}`);
  return name;
}

export async function dropSchema(ex: SqlExecutor, schema: string): Promise<void> {
  await ex.engine.exec(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
}

/** What a suite's tests share: the open executor and its private schema, or why the engine is skipped. */
export interface EngineSuite { ex?: SqlExecutor; schema: string; skip?: string }

/**
 * Registers before/after hooks in the current describe block: open `engine`, create a private schema
 * (tagged `tag`) and run `setup` in it; afterwards drop the schema and close. When the engine is not
 * reachable, `skip` says why (openEngine throws instead under RELML_REQUIRE_PG=1).
 */
export function engineSuite(engine: EngineName, tag: string, setup?: (ex: SqlExecutor, schema: string) => Promise<void>, opts: SqlExecutorOptions = {}): EngineSuite {
  const suite: EngineSuite = { schema: '' };
  before(async () => {
    const got = await openEngine(engine, opts);
    if (typeof got === 'string') { suite.skip = got; console.log(`SKIP ${engine}: ${got}`); return; }
    suite.ex = got;
    suite.schema = await privateSchema(got, tag);
    await setup?.(got, suite.schema);
  });
  after(async () => { if (suite.ex) { await dropSchema(suite.ex, suite.schema); await suite.ex.close(); } });
  return suite;
}

/** CREATE TABLE schema.table (columns…) with INTEGER / DOUBLE columns; names are quoted. */
export async function createTable(ex: SqlExecutor, schema: string, table: string, cols: readonly [string, 'int' | 'double'][], check?: string): Promise<void> {
  const d = ex.engine.dialect;
  const defs = cols.map(([c, t]) => `${quoteIdent(c)} ${t === 'int' ? d.int : d.double}`);
  if (check) defs.push(check);
  await ex.engine.exec(`CREATE TABLE ${quoteTable(table, schema)} (${defs.join(', ')})`);
}

/** Inserts rows with parameters, a few hundred rows per statement. */
export async function insertRows(ex: SqlExecutor, schema: string, table: string, rows: readonly (readonly number[])[]): Promise<void> {
  const BATCH = 200;
  for (let s = 0; s < rows.length; s += BATCH) {
    const chunk = rows.slice(s, s + BATCH);
    let n = 0;
    const values = chunk.map((r) => `(${r.map(() => `$${++n}`).join(', ')})`).join(', ');
    await ex.engine.exec(`INSERT INTO ${quoteTable(table, schema)} VALUES ${values}`, chunk.flat());
  }
}

/** One number from a query. */
export async function scalar(ex: SqlExecutor, sql: string, params: number[] = []): Promise<number> {
  return (await ex.engine.query(sql, params))[0]?.[0] ?? NaN;
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

