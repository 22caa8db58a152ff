/**
 * The blob payload (DuckDB: one tile per row as a BLOB, every kernel one of relml's registered functions;
 * lower_blob.ts, duckdb_kernels.ts). The conformance suite runs on it in sql.test.ts ('duckdb-blobs');
 * here: the tile codec, a GCN whose adjacency is one sparse (CSR) tile multiplied with spmm / spmmT,
 * float32 plans against the in-process executor, training steps on packed tables, and bad input.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as r from '../../src/index.js';
import { gradPlan, input, InprocExecutor, Relation, runSync, type Tensor } from '../../src/index.js';
import { duckdbExecutor, quoteIdent, sqlTrainStep, SqlTable, type SqlExecutor } from '../../src/exec/sql/index.js';
import { assembleTile, decodeTile, densify, encodeTile } from '../../src/exec/sql/blob.js';
import { BindingError, KernelError, KeyError, NonFiniteError, PlanError, SqlError } from '../../src/errors.js';
import { denseSchema } from '../../src/tra/schema.js';
import { makeTile } from '../../src/tile.js';
import { rng } from '../helpers/dense.js';
import { assertSameRelation, createTable, insertRows, openEngine } from '../helpers/sql.js';

describe('blob tile codec', () => {
  test('dense and CSR tiles, float64 and float32, survive encode / decode', () => {
    const dense = makeTile([2, 3], 'float64', [1, -2, 3.5, 0, 5, 1e-300]);
    const back = decodeTile(encodeTile(dense), 'd');
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [...dense.data]);
    const f32 = decodeTile(encodeTile(makeTile([4], 'float32', [1.5, 2, 3, 4])), 'f');
    assert.equal(f32.dtype, 'float32');
    assert.deepEqual([...f32.data], [1.5, 2, 3, 4]);
    const csr = assembleTile([3, 4], [11, 1, 4, 1], [7, 2, 3, 5], true, 'float64', 'c');
    const csrBack = decodeTile(encodeTile(csr), 'c');
    assert.deepEqual([...csrBack.csr!.indptr], [0, 1, 2, 3]);
    // Duplicate positions add up (1 appears twice: 2 + 5), as in a dense assembly.
    assert.deepEqual([...densify(csrBack, 'c').data], [0, 7, 0, 0, 3, 0, 0, 0, 0, 0, 0, 7]);
    assert.deepEqual([...assembleTile([3, 4], [11, 1, 4, 1], [7, 2, 3, 5], false, 'float64', 'c').data], [...densify(csrBack, 'c').data]);
  });

  test('CSR rows given out of column order are sorted', () => {
    const t = assembleTile([2, 5], [4, 0, 2, 9, 5], [1, 2, 3, 4, 5], true, 'float32', 'c');
    assert.deepEqual([...t.csr!.indices], [0, 2, 4, 0, 4]);
    assert.deepEqual([...t.data], [2, 3, 1, 5, 4]);
  });

  test('a foreign or truncated blob and a position outside the tile are KernelErrors', () => {
    assert.throws(() => decodeTile(new Uint8Array([1, 2, 3]), 'x'), (e: unknown) => e instanceof KernelError && /x is not a relml tile blob/.test(e.message));
    const bytes = encodeTile(makeTile([4, 4], 'float64'));
    assert.throws(() => decodeTile(bytes.subarray(0, bytes.length - 8), 'cut'), /cut is not a relml tile blob/);
    assert.throws(() => assembleTile([2, 2], [0, 4], [1, 1], false, 'float64', 'p'), /position 4 lies outside the tile \[2,2\]/);
  });
});

// A small GCN: the adjacency (with self loops, row-normalised) as ONE sparse tile bound from an edge table.
const N = 300, F = 12, HD = 8, C = 5;
function graph(): { edges: number[][]; x: Float64Array; labels: number[][]; w1: Float64Array; w2: Float64Array } {
  const rand = rng(99);
  const adj = new Set<number>();
  for (let e = 0; e < 900; e++) { const a = Math.floor(rand() * N), b = Math.floor(rand() * N); adj.add(a * N + b); adj.add(b * N + a); }
  for (let n = 0; n < N; n++) adj.add(n * N + n);
  const deg = new Float64Array(N);
  for (const k of adj) deg[Math.floor(k / N)]!++;
  const edges = [...adj].map((k) => [Math.floor(k / N), k % N, 1 / deg[Math.floor(k / N)]!]);
  const x = Float64Array.from({ length: N * F }, () => rand() - 0.5);
  const labels = Array.from({ length: N }, (_, n) => [n, n % C]).filter(([n]) => n! % 3 !== 0);
  return { edges, x, labels, w1: Float64Array.from({ length: F * HD }, () => 0.4 * (rand() - 0.5)), w2: Float64Array.from({ length: HD * C }, () => 0.4 * (rand() - 0.5)) };
}
const gcnLoss = (A: Tensor, X: Tensor, Y: Tensor, W1: Tensor, W2: Tensor) => {
  const h = r.relu(r.einsum('ij,jh->ih', A, r.einsum('jf,fh->jh', X, W1)));
  const z = r.einsum('ij,jc->ic', A, r.einsum('jh,hc->jc', h, W2));
  return r.div(r.neg(r.sum(r.mul(Y, r.logSoftmax(z, 1)))), N);
};
const gcnPlan = (dtype: 'float32' | 'float64') => gradPlan(gcnLoss, [input('A', [N, N], { dtype, tile: [N, N] }), input('X', [N, F], { dtype, tile: [N, F] }),
  input('Y', [N, C], { dtype, tile: [N, C] }), input('W1', [F, HD], { dtype }), input('W2', [HD, C], { dtype })], [1, 3, 4]);

/** The graph's tables in `schema`: edges(src, dst, w), features(node, f, x), labels(node, class), w1, w2. */
async function graphTables(ex: SqlExecutor, schema: string, g: ReturnType<typeof graph>): Promise<Record<string, SqlTable>> {
  await createTable(ex, schema, 'edges', [['src', 'int'], ['dst', 'int'], ['w', 'double']]);
  await insertRows(ex, schema, 'edges', g.edges);
  await createTable(ex, schema, 'features', [['node', 'int'], ['f', 'int'], ['x', 'double']]);
  await insertRows(ex, schema, 'features', Array.from(g.x, (v, j) => [Math.floor(j / F), j % F, v]));
  await createTable(ex, schema, 'labels', [['node', 'int'], ['class', 'int']]);
  await insertRows(ex, schema, 'labels', g.labels);
  for (const [name, data, cols] of [['w1', g.w1, HD], ['w2', g.w2, C]] as const) {
    await createTable(ex, schema, name, [['r', 'int'], ['c', 'int'], ['w', 'double']]);
    await insertRows(ex, schema, name, Array.from(data, (v, j) => [Math.floor(j / cols), j % cols, v]));
  }
  return {
    arg0: new SqlTable({ table: 'edges', schema, keys: [null, null], index: ['src', 'dst'], value: 'w' }),
    arg1: new SqlTable({ table: 'features', schema, keys: [null, null], index: ['node', 'f'], value: 'x', dense: true }),
    arg2: new SqlTable({ table: 'labels', schema, keys: [null, null], index: ['node', 'class'] }),
    arg3: new SqlTable({ table: 'w1', schema, keys: [null, null], index: ['r', 'c'], value: 'w', dense: true }),
    arg4: new SqlTable({ table: 'w2', schema, keys: [null, null], index: ['r', 'c'], value: 'w', dense: true }),
  };
}

/** The same inputs as in-memory relations (one tile each). */
function graphRelations(g: ReturnType<typeof graph>, dtype: 'float32' | 'float64') {
  const one = (shape: number[], data: Float64Array) => { const rel = new Relation(denseSchema(shape, shape, dtype), 'x'); rel.set([0, 0], makeTile(shape, dtype, data)); return rel; };
  const a = new Float64Array(N * N), y = new Float64Array(N * C);
  for (const [s, d, w] of g.edges) a[s! * N + d!] = w!;
  for (const [n, c] of g.labels) y[n! * C + c!] = 1;
  return { arg0: one([N, N], a), arg1: one([N, F], g.x), arg2: one([N, C], y), arg3: one([F, HD], g.w1), arg4: one([HD, C], g.w2) };
}

describe('SQL executor on DuckDB blobs: a GCN with a sparse adjacency tile', () => {
  const g = graph();

  test('value and gradients equal the reference (float64, 1e-9); the adjacency is packed as CSR', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      await ex.engine.exec('CREATE SCHEMA gcn');
      const plan = gcnPlan('float64');
      const got = await ex.run(plan, await graphTables(ex, 'gcn', g), { precision: 'float64' });
      const want = runSync(plan, graphRelations(g, 'float64'), { precision: 'float64' });
      want.forEach((w, j) => assertSameRelation(got[j]!, w, `output ${plan.names[j]}`));
      assert.ok(ex.lastStatements.some((q) => q.includes('relml_pack(CAST([300, 300] AS INTEGER[])') && q.includes('TRUE, FALSE)')), 'the edge table is packed as one sparse float64 tile');
    } finally { await ex.close(); }
  });

  test("payload 'auto' runs few large tiles as blobs and many small ones as rows (prefersBlobs)", async () => {
    const ex = await duckdbExecutor();
    try {
      await ex.engine.exec('CREATE SCHEMA gcn');
      const b = await graphTables(ex, 'gcn', g);
      await ex.run(gcnPlan('float64'), b, { precision: 'float64' });
      assert.ok(ex.lastStatements.some((q) => q.includes('relml_join(')), 'one tile per relation: registered kernels');
      const fine = r.toPlan(r.einsum('ij,jh->ih', input('A', [N, N], { dtype: 'float64', tile: [1, 1] }), input('X', [N, F], { dtype: 'float64', tile: [1, F] })));
      const [got] = await ex.run(fine, { A: new SqlTable({ table: 'edges', schema: 'gcn', keys: ['src', 'dst'], value: 'w' }), X: { shape: [N, F], data: g.x } }, { precision: 'float64' });
      assert.ok(!ex.lastStatements.some((q) => /relml_(join|map|pack)\(/.test(q)), 'an edge list in one-element tiles: SQL on rows');
      const want = runSync(fine, { A: graphRelations(g, 'float64').arg0, X: { shape: [N, F], data: g.x } }, { precision: 'float64' });
      assert.ok(Math.abs(got!.toDense().data[7]! - want[0]!.toDense().data[7]!) < 1e-12);
    } finally { await ex.close(); }
  });

  test('the in-process plan (spmm, and sparseSample for the gradient w.r.t. the edge weights) runs as it is', async () => {
    const ex = await duckdbExecutor();
    try {
      await ex.engine.exec('CREATE SCHEMA gcn');
      const loss = (A: Tensor, X: Tensor, Y: Tensor, W1: Tensor, W2: Tensor) => {
        const h = r.relu(r.spmm(A, r.einsum('jf,fh->jh', X, W1)));
        return r.div(r.neg(r.sum(r.mul(Y, r.logSoftmax(r.spmm(A, r.einsum('jh,hc->jc', h, W2)), 1)))), N);
      };
      const plan = gradPlan(loss, [input('A', [N, N], { dtype: 'float64', tile: [N, N] }), input('X', [N, F], { dtype: 'float64', tile: [N, F] }),
        input('Y', [N, C], { dtype: 'float64', tile: [N, C] }), input('W1', [F, HD], { dtype: 'float64' }), input('W2', [HD, C], { dtype: 'float64' })], [0, 3, 4]);
      const got = await ex.run(plan, await graphTables(ex, 'gcn', g), { precision: 'float64' });
      const rels = graphRelations(g, 'float64');
      const coo = { rows: Int32Array.from(g.edges, (e) => e[0]!), cols: Int32Array.from(g.edges, (e) => e[1]!), values: Float64Array.from(g.edges, (e) => e[2]!) };
      const want = runSync(plan, { ...rels, arg0: r.sparseRelation(coo, [N, N], { tile: [N, N], dtype: 'float64', name: 'A' }) }, { precision: 'float64' });
      // The reference keeps the gradient w.r.t. A sparse (its nonzeros); the blob executor returns tiles dense.
      const dense = (rel: Relation) => ([...rel.tuples()].some((t) => t.tile.csr) ? r.sparseToDense(rel).data : rel.toDense().data);
      want.forEach((w, j) => {
        const a = got[j]!.toDense().data, b = dense(w);
        b.forEach((v, k) => assert.ok(Math.abs(a[k]! - v) <= 1e-9 * Math.max(1, Math.abs(v)), `${plan.names[j]}[${k}]: ${a[k]} vs ${v}`));
      });
      assert.ok(ex.lastStatements.some((q) => q.includes('relml_join(')), 'run on blobs');
    } finally { await ex.close(); }
  });

  test('a float32 plan computes in float32 and matches the in-process executor (1e-5)', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    const inproc = new InprocExecutor();
    try {
      await ex.engine.exec('CREATE SCHEMA gcn');
      const plan = gcnPlan('float32');
      const got = await ex.run(plan, await graphTables(ex, 'gcn', g));
      const want = await inproc.run(plan, graphRelations(g, 'float32'));
      want.forEach((w, j) => {
        assert.equal(got[j]!.schema.dtype, 'float32');
        const a = got[j]!.toDense().data, b = w.toDense().data;
        const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
        b.forEach((v, k) => assert.ok(Math.abs(a[k]! - v) <= 1e-5 * scale, `${plan.names[j]}[${k}]: ${a[k]} vs ${v}`));
      });
    } finally { await ex.close(); await inproc.close(); }
  });

  test('training on packed tables: three steps equal the reference; a failed step changes nothing', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      await ex.engine.exec('CREATE SCHEMA gcn');
      const plan = gradPlan(gcnLoss, [input('A', [N, N], { dtype: 'float64', tile: [N, N] }), input('X', [N, F], { dtype: 'float64', tile: [N, F] }),
        input('Y', [N, C], { dtype: 'float64', tile: [N, C] }), input('W1', [F, HD], { dtype: 'float64' }), input('W2', [HD, C], { dtype: 'float64' })], [3, 4]);
      const b = await graphTables(ex, 'gcn', g);
      b.arg0 = await ex.packTable(plan, 'arg0', b.arg0!, { table: 'edges_blob', schema: 'gcn' });
      b.arg1 = await ex.packTable(plan, 'arg1', b.arg1!, { table: 'features_blob', schema: 'gcn' });
      const params = [{ grad: 'grad3', table: b.arg3! }, { grad: 'grad4', table: b.arg4! }];
      const rels = graphRelations(g, 'float64');
      const w1 = Float64Array.from(g.w1), w2 = Float64Array.from(g.w2);
      for (let s = 0; s < 3; s++) {
        const loss = await sqlTrainStep(ex, plan, b, params, { lr: 0.5 });
        const [v, g1, g2] = runSync(plan, { ...rels, arg3: { shape: [F, HD], data: w1 }, arg4: { shape: [HD, C], data: w2 } }, { precision: 'float64' });
        const want = v!.toDense().data[0]!;
        assert.ok(Math.abs(loss - want) <= 1e-9 * Math.abs(want), `step ${s}: loss ${loss} vs ${want}`);
        g1!.toDense().data.forEach((d, k) => { w1[k] -= 0.5 * d; });
        g2!.toDense().data.forEach((d, k) => { w2[k] -= 0.5 * d; });
      }
      const stored = await ex.engine.query(`SELECT r, c, w FROM gcn.w1 ORDER BY r, c`);
      stored[2]!.forEach((v, k) => assert.ok(Math.abs(v - w1[k]!) <= 1e-9 * Math.max(1, Math.abs(w1[k]!)), `w1[${k}]: ${v} vs ${w1[k]}`));
      await assert.rejects(sqlTrainStep(ex, plan, b, params, { lr: 0.5, afterUpdate: (j) => { if (j === 1) throw new Error('injected'); } }), /injected/);
      const after = await ex.engine.query(`SELECT r, c, w FROM gcn.w1 ORDER BY r, c`);
      assert.deepEqual(after[2], stored[2], 'the failed step was rolled back');
    } finally { await ex.close(); }
  });
});

describe('SQL executor on DuckDB blobs: einsums over a sparse (CSR) tile', () => {
  // A 100 × 100 matrix with ~300 nonzeros bound from a (row, col, val) table: packed as one CSR tile.
  const S = 100, K = 7;
  const rand = rng(5);
  const entries = new Map<number, number>();
  for (let e = 0; e < 300; e++) entries.set(Math.floor(rand() * S * S), rand() - 0.5);
  const rows = [...entries].map(([p, v]) => [Math.floor(p / S), p % S, v]);
  const dense = new Float64Array(S * S);
  for (const [i, j, v] of rows) dense[i! * S + j!] = v!;
  const other = Float64Array.from({ length: S * K }, () => rand() - 0.5);
  // spmm, spmmT (sparse first or second), and specs without a sparse form (densified).
  const cases: [string, 'A first' | 'A second', number[]][] = [
    ['ij,jk->ik', 'A first', [S, K]], ['ji,jk->ik', 'A first', [S, K]], ['kj,ji->ki', 'A second', [K, S]],
    ['ij,ik->jk', 'A first', [S, K]], ['ij,jk->ki', 'A first', [S, K]], ['ij,ij->i', 'A first', [S, S]],
  ];
  for (const [spec, side, shape] of cases) {
    test(`${spec} with A ${side === 'A first' ? 'first' : 'second'} equals the reference`, async () => {
      const ex = await duckdbExecutor({ payload: 'blob' });
      try {
        await createTable(ex, 'main', 'a', [['i', 'int'], ['j', 'int'], ['v', 'double']]);
        await insertRows(ex, 'main', 'a', rows);
        const A = input('A', [S, S], { dtype: 'float64' }), O = input('O', shape, { dtype: 'float64' });
        const plan = r.toPlan(side === 'A first' ? r.einsum(spec, A, O) : r.einsum(spec, O, A));
        const data = shape[0] === S && shape[1] === S ? Float64Array.from({ length: S * S }, (_, k) => Math.sin(k)) : other;
        const [got] = await ex.run(plan, { A: new SqlTable({ table: 'a', keys: [null, null], index: ['i', 'j'], value: 'v' }), O: { shape, data } }, { precision: 'float64' });
        const [want] = runSync(plan, { A: { shape: [S, S], data: dense }, O: { shape, data } }, { precision: 'float64' });
        assert.ok(ex.lastStatements.some((q) => q.includes('relml_pack(CAST([100, 100] AS INTEGER[])') && q.includes('TRUE, FALSE)')), 'A is packed as CSR');
        const a = got!.toDense().data, b = want!.toDense().data;
        b.forEach((v, k) => assert.ok(Math.abs(a[k]! - v) <= 1e-12 * Math.max(1, Math.abs(v)), `${spec}[${k}]: ${a[k]} vs ${v}`));
      } finally { await ex.close(); }
    });
  }
});

describe('SQL executor on DuckDB blobs: kernels without a SQL lowering', () => {
  test('a convolution + max pooling, value and gradients, equals the reference (float64)', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      const rand = rng(17);
      const shapes = [[4, 2, 9, 9], [3, 2, 3, 3]];
      const data = shapes.map((sh) => Float64Array.from({ length: sh.reduce((p, d) => p * d, 1) }, () => rand() - 0.5));
      const f = (x: Tensor, w: Tensor) => r.sum(r.nn.maxPool2d(r.nn.conv2d(x, w, undefined, { padding: 1 }), { kernel: 2 }));
      const plan = gradPlan(f, shapes.map((sh) => input('t', sh, { dtype: 'float64', tile: [2, ...sh.slice(1)] })), [0, 1]);
      const b = Object.fromEntries(data.map((d, j) => [`arg${j}`, { shape: shapes[j]!, data: d }]));
      const got = await ex.run(plan, b, { precision: 'float64' });
      const want = runSync(plan, b, { precision: 'float64' });
      want.forEach((w, j) => assertSameRelation(got[j]!, w, `output ${plan.names[j]}`));
      assert.ok(ex.lastStatements.some((q) => q.includes('relml_join(')), 'run on blobs');
    } finally { await ex.close(); }
  });
});

describe('SQL executor on DuckDB blobs: bad input', () => {
  const plan = r.toPlan(r.einsum('ij,jk->ik', input('A', [4, 3], { dtype: 'float64' }), input('B', [3, 2], { dtype: 'float64' })));
  // Inputs are bound by the names given to input(): A and B.

  test('a blob table under a payload of rows or lists, and the blob payload on PostgreSQL, are refused by name', async () => {
    const ex = await duckdbExecutor({ payload: 'tile' });
    try {
      const blob = new SqlTable({ table: 'packed', keys: [null, null], blob: 't' });
      await assert.rejects(ex.run(plan, { A: blob, B: { shape: [3, 2], data: new Float64Array(6) } }), (e: unknown) => e instanceof BindingError && /stores tiles as blobs/.test(e.message));
    } finally { await ex.close(); }
    const pg = await openEngine('postgres', { payload: 'blob' });
    if (typeof pg === 'string') return;
    try {
      await assert.rejects(pg.run(plan, { A: { shape: [4, 3], data: new Float64Array(12) }, B: { shape: [3, 2], data: new Float64Array(6) } }), (e: unknown) => e instanceof PlanError && /registered functions/.test(e.message));
    } finally { await pg.close(); }
  });

  test('a bound blob of the wrong shape or not a tile at all fails naming the table; the connection still works', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      await ex.engine.exec(`CREATE TABLE ${quoteIdent('we"ird; DROP TABLE x')} (k0 INTEGER, t BLOB)`);
      await ex.engine.exec(`INSERT INTO ${quoteIdent('we"ird; DROP TABLE x')} SELECT 0, relml_pack([3, 4], [0::BIGINT], [1.0], FALSE, FALSE)`);
      const bound = new SqlTable({ table: 'we"ird; DROP TABLE x', keys: ['k0', null], blob: 't' });
      const B = { shape: [3, 2], data: new Float64Array(6) };
      await assert.rejects(ex.run(plan, { A: bound, B }), (e: unknown) => e instanceof KeyError && /"we""ird; DROP TABLE x" has 1 row\(s\).*wrong shape/.test(e.message));
      await ex.engine.exec(`UPDATE ${quoteIdent('we"ird; DROP TABLE x')} SET t = 'not a tile'::BLOB`);
      await assert.rejects(ex.run(plan, { A: bound, B }), (e: unknown) => e instanceof SqlError && /relml_shape: .*not a relml tile blob/.test(e.message));
      await ex.engine.exec(`UPDATE ${quoteIdent('we"ird; DROP TABLE x')} SET t = relml_pack([4, 3], [0::BIGINT, 11], [2.0, 3.0], FALSE, FALSE)`);
      const [out] = await ex.run(plan, { A: bound, B: { shape: [3, 2], data: Float64Array.from([1, 2, 3, 4, 5, 6]) } });
      assert.deepEqual([...out!.toDense().data], [2, 4, 0, 0, 0, 0, 15, 18]);
    } finally { await ex.close(); }
  });

  test('a kernel that makes NaN / Infinity (log of 0) fails the run with a NonFiniteError naming the output', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      const x = input('x', [40, 40], { dtype: 'float64' });
      const data = Float64Array.from({ length: 1600 }, (_, k) => (k === 77 ? 0 : 1 + k));
      await assert.rejects(ex.run(r.toPlan({ y: r.log(x) }), { x: { shape: [40, 40], data } }), (e: unknown) => e instanceof NonFiniteError && /output 'y'/.test(e.message));
    } finally { await ex.close(); }
  });

  test('packTable validates the target name and leaves other tables alone', async () => {
    const ex = await duckdbExecutor({ payload: 'blob' });
    try {
      await ex.engine.exec('CREATE TABLE keep (v INTEGER)');
      await ex.engine.exec('INSERT INTO keep VALUES (1)');
      await ex.engine.exec('CREATE TABLE src (i INTEGER, j INTEGER, v DOUBLE)');
      await ex.engine.exec('INSERT INTO src VALUES (0, 0, 1.5), (3, 2, -2)');
      const source = new SqlTable({ table: 'src', keys: [null, null], index: ['i', 'j'], value: 'v' });
      await assert.rejects(ex.packTable(plan, 'A', source, { table: 'bad\u0000name' }), /control character/);
      const packed = await ex.packTable(plan, 'A', source, { table: 'keep"; DROP TABLE keep; --' });
      const [out] = await ex.run(plan, { A: packed, B: { shape: [3, 2], data: Float64Array.from([1, 2, 3, 4, 5, 6]) } });
      assert.deepEqual([...out!.toDense().data], [1.5, 3, 0, 0, 0, 0, -10, -12]);
      assert.deepEqual(await ex.engine.query('SELECT v FROM keep'), [[1]]);
      await assert.rejects(ex.packTable(plan, 'nope', source, { table: 'x' }), (e: unknown) => e instanceof BindingError && /no input 'nope'/.test(e.message));
    } finally { await ex.close(); }
  });
});
