/**
 * SQL executor safety: user names are validated and quoted, never spliced into SQL. Hostile table and
 * column names (quotes, semicolons, comment markers, Unicode) are either handled — they name exactly that
 * table, and no other table is touched — or rejected with an IdentifierError. A run leaves no tables behind,
 * bound tables are checked against the input schema, and a training step that fails mid-way leaves the
 * parameter tables as they were (transactions).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradPlan, IdentifierError, input, KeyError, NonFiniteError, RelmlError, SqlError, sum, toPlan } from '../../src/index.js';
import * as r from '../../src/index.js';
import { checkIdentifier, quoteIdent, quoteTable, sqlTrainStep, SqlTable } from '../../src/exec/sql/index.js';
import { createTable, engineSuite, ENGINES, insertRows, scalar } from '../helpers/sql.js';

/** Hostile names aimed at the victim table of `schema` (which the injected SQL would name). */
const hostileTables = (schema: string): string[] => [
  `x"; DROP TABLE "${schema}".victim; --`,
  `t'; DELETE FROM "${schema}".victim; --`,
  'Ünïcødé 表 🚀',
  'a.b; c',
  'victim" WHERE 1=1; --',
];
const HOSTILE_COLUMN = { key: 'k"0; DROP TABLE victim', value: "v'al; --ø" };

test('identifiers that cannot be used safely are rejected with IdentifierError', () => {
  const bad = ['', 'a\u0000b', 'tab\tle', 'line\nbreak', 'x'.repeat(64), 'é'.repeat(32), 'lone \ud800 surrogate', 'del\u007f'];
  for (const name of bad) {
    assert.throws(() => checkIdentifier(name), (e: unknown) => e instanceof IdentifierError && e.code === 'IDENTIFIER' && e.details.identifier === name, JSON.stringify(name));
    assert.throws(() => new SqlTable({ table: name, keys: [], value: 'v' }), IdentifierError);
    assert.throws(() => new SqlTable({ table: 't', keys: [name], value: 'v' }), IdentifierError);
    assert.throws(() => new SqlTable({ table: 't', schema: name, keys: [], value: 'v' }), IdentifierError);
  }
  assert.throws(() => checkIdentifier(42 as unknown as string), IdentifierError);
  // Handled names are quoted, with embedded quotes doubled.
  assert.equal(quoteIdent('x"; DROP TABLE victim; --'), '"x""; DROP TABLE victim; --"');
  assert.equal(quoteTable('t', 's"s'), '"s""s"."t"');
  assert.equal(quoteIdent('x'.repeat(63)).length, 65);
});

for (const engine of ENGINES) {
  describe(`SQL safety on ${engine}`, () => {
    const suite = engineSuite(engine, 'safety', async (ex, schema) => {
      await createTable(ex, schema, 'victim', [['id', 'int'], ['val', 'double']]);
      await insertRows(ex, schema, 'victim', [[1, 10], [2, 20], [3, 30]]);
    });

    const tableCount = () => scalar(suite.ex!, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${suite.schema}'`);
    const victimIntact = async () => {
      assert.equal(await scalar(suite.ex!, `SELECT COUNT(*) FROM ${quoteTable('victim', suite.schema)}`), 3, 'victim row count');
      assert.equal(await scalar(suite.ex!, `SELECT SUM(val) FROM ${quoteTable('victim', suite.schema)}`), 60, 'victim contents');
    };

    test('hostile table and column names are handled: the plan reads exactly that table, nothing else changes', async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      // A plan: s = sum over the 4 keys of a scalar-tiled vector input.
      const plan = toPlan({ s: sum(input('x', [4], { dtype: 'float64', tile: [1] })) });
      const HOSTILE_TABLES = hostileTables(schema);
      for (const [j, name] of HOSTILE_TABLES.entries()) {
        await createTable(ex!, schema, name, [[HOSTILE_COLUMN.key, 'int'], [HOSTILE_COLUMN.value, 'double']]);
        await insertRows(ex!, schema, name, [[0, 1 + j], [2, 2], [3, 0.5]]);
        const before = await tableCount();
        const [s] = await ex!.run(plan, { x: new SqlTable({ table: name, schema, keys: [HOSTILE_COLUMN.key], value: HOSTILE_COLUMN.value }) });
        assert.equal(s!.toDense().data[0], 3.5 + j, `sum over ${JSON.stringify(name)}`);
        assert.equal(await tableCount(), before, 'a run leaves no tables behind');
        await victimIntact();
      }
      assert.equal(await tableCount(), 1 + HOSTILE_TABLES.length);
    });

    test('a name that does not exist is a typed SqlError, not a silent result', async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      const plan = toPlan({ s: sum(input('x', [4], { dtype: 'float64', tile: [1] })) });
      await assert.rejects(ex!.run(plan, { x: new SqlTable({ table: 'victim"; --', schema, keys: ['id'], value: 'val' }) }),
        (e: unknown) => e instanceof SqlError && e.code === 'SQL' && e.details.engine === engine);
      await victimIntact();
    });

    test('bound tables are checked against the input schema (keys out of bounds are a KeyError)', async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      const plan = toPlan({ s: sum(input('x', [3], { dtype: 'float64', tile: [1] })) });
      // victim has ids 1..3; bound 3 allows 0..2.
      await assert.rejects(ex!.run(plan, { x: new SqlTable({ table: 'victim', schema, keys: ['id'], value: 'val' }) }), KeyError);
      await assert.rejects(ex!.run(plan, { x: new SqlTable({ table: 'victim', schema, keys: ['id', 'val'], value: 'val' }) }), RelmlError);
      await victimIntact();
    });

    test('a training step that fails mid-way leaves every parameter table as it was', async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      // loss = sum((w * x + b)^2): parameters w [3] and b [] in their own tables.
      const f = (w: r.Tensor, b: r.Tensor, x: r.Tensor) => sum(r.square(r.add(r.mul(w, x), b)));
      const plan = gradPlan(f, [input('w', [3], { dtype: 'float64', tile: [1] }), input('b', [], { dtype: 'float64' }), input('x', [3], { dtype: 'float64', tile: [1] })], [0, 1]);
      const wName = `w"; DROP TABLE "${schema}".victim; --`, bName = 'bias ✓';
      await createTable(ex!, schema, wName, [['i', 'int'], ['val', 'double']]);
      // The bias table only admits |val| < 100: a big step violates it *after* w was updated.
      await createTable(ex!, schema, bName, [['val', 'double']], `CHECK (${quoteIdent('val')} < 100 AND ${quoteIdent('val')} > -100)`);
      await insertRows(ex!, schema, wName, [[0, 0.5], [1, -1], [2, 2]]);
      await insertRows(ex!, schema, bName, [[0.25]]);
      const W = new SqlTable({ table: wName, schema, keys: ['i'], value: 'val' }), B = new SqlTable({ table: bName, schema, keys: [], value: 'val' });
      const bindings = { arg0: W, arg1: B, arg2: { shape: [3], data: [1, 2, 3] } };
      const params = [{ grad: 'grad0', table: W }, { grad: 'grad1', table: B }];
      const snapshot = async () => [...(await ex!.engine.query(`SELECT ${quoteIdent('val')} FROM ${W.from} ORDER BY ${quoteIdent('i')}`))[0]!, await scalar(ex!, `SELECT ${quoteIdent('val')} FROM ${B.from}`)];
      const start = await snapshot();
      // 1. Constraint violation on the second parameter, after the first was updated.
      await assert.rejects(sqlTrainStep(ex!, plan, bindings, params, { lr: 1000 }), (e: unknown) => e instanceof SqlError && /constraint/i.test(e.message));
      assert.deepEqual(await snapshot(), start, 'constraint failure: parameters unchanged');
      // 2. A failure injected between the two updates.
      await assert.rejects(sqlTrainStep(ex!, plan, bindings, params, { lr: 0.01, afterUpdate: (j) => { if (j === 0) throw new Error('injected'); } }), /injected/);
      assert.deepEqual(await snapshot(), start, 'injected failure: parameters unchanged');
      // 3. A non-finite loss stops the step before any update.
      await assert.rejects(sqlTrainStep(ex!, plan, { ...bindings, arg2: { shape: [3], data: [1, NaN, 1] } }, params, { lr: 0.01, checkFinite: false }), NonFiniteError);
      assert.deepEqual(await snapshot(), start, 'non-finite loss: parameters unchanged');
      // 4. A good step changes both tables exactly as gradient descent says.
      const loss = await sqlTrainStep(ex!, plan, bindings, params, { lr: 0.01 });
      const [w0, w1, w2, b] = start as [number, number, number, number];
      const z = [w0 * 1 + b, w1 * 2 + b, w2 * 3 + b];
      assert.ok(Math.abs(loss - z.reduce((s, v) => s + v * v, 0)) < 1e-12, `loss ${loss}`);
      const want = [w0 - 0.01 * 2 * z[0]! * 1, w1 - 0.01 * 2 * z[1]! * 2, w2 - 0.01 * 2 * z[2]! * 3, b - 0.01 * 2 * (z[0]! + z[1]! + z[2]!)];
      const got = await snapshot();
      got.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) < 1e-12, `parameter ${j}: ${v} vs ${want[j]}`));
      await victimIntact();
    });
  });
}
