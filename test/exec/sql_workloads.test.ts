/**
 * The relational-autodiff workloads trained inside the databases, at test scale, each on DuckDB and on
 * PostgreSQL: non-negative matrix factorisation of a ratings table (projected gradient), a two-layer GCN
 * over an edge table (node classification), and DistMult knowledge-graph embeddings over a triples
 * table (logistic loss on positive and corrupted triples). The data lives in tables, parameters in
 * tables, every step is one sqlTrainStep; the losses of every step and the final parameters must match
 * the reference executor running the same steps in Node within 1e-4 relative, and the loss must fall.
 * (Logistic regression on a sparse feature table is in sql_train.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as r from '../../src/index.js';
import { gradPlan, input, Relation, runSync, type Plan, type Tensor } from '../../src/index.js';
import { quoteIdent, sqlTrainStep, SqlTable, type SqlBindings } from '../../src/exec/sql/index.js';
import { denseSchema } from '../../src/tra/schema.js';
import { makeTile } from '../../src/tile.js';
import { rng } from '../helpers/dense.js';
import { createTable, engineSuite, insertRows, TRAIN_CONFIGS } from '../helpers/sql.js';

type Rows = number[][];
interface DataTable { name: string; cols: string[]; rows: Rows; keys: number; value: boolean }
interface Param { arg: number; table: string; shape: number[]; init: number[]; project?: 'nonnegative' }
interface Workload { name: string; plan: Plan; data: Record<number, DataTable>; params: Param[]; steps: number; lr: number }

const f64 = { dtype: 'float64' as const };
const ones = (n: number) => Array.from({ length: n }, () => 1);

/** A scalar-tiled sparse relation from rows [...keys, value?]. */
function relationOf(shape: number[], t: DataTable): Relation {
  const rel = new Relation(denseSchema(shape, ones(shape.length), 'float64'), t.name);
  for (const row of t.rows) rel.set(row.slice(0, t.keys), makeTile(ones(shape.length), 'float64', [t.value ? row[t.keys]! : 1]));
  return rel;
}

/** Same steps on the reference executor. */
function referenceRun(w: Workload): { losses: number[]; params: Float64Array[] } {
  const inputs = w.plan.inputs();
  const fixed = Object.fromEntries(Object.entries(w.data).map(([arg, t]) => {
    const node = inputs.get(`arg${arg}`)!;
    return [`arg${arg}`, relationOf(node.schema.tile.map((d) => d.extent), t)];
  }));
  const params = w.params.map((p) => Float64Array.from(p.init)), losses: number[] = [];
  for (let s = 0; s < w.steps; s++) {
    const b = { ...fixed, ...Object.fromEntries(w.params.map((p, j) => [`arg${p.arg}`, { shape: p.shape, data: params[j]! }])) };
    const [value, ...grads] = runSync(w.plan, b, { precision: 'float64' });
    losses.push(value!.toDense().data[0]!);
    w.params.forEach((p, j) => {
      const g = grads[j]!.toDense().data, x = params[j]!;
      for (let k = 0; k < x.length; k++) { x[k] = x[k]! - w.lr * g[k]!; if (p.project === 'nonnegative' && x[k]! < 0) x[k] = 0; }
    });
  }
  return { losses, params };
}

const denseRows = (shape: number[], data: readonly number[]): Rows => data.map((v, flat) => {
  const idx: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(rest % shape[d]!); rest = Math.floor(rest / shape[d]!); }
  return [...idx, v];
});

// ---- non-negative matrix factorisation of a ratings table ----
function nmf(): Workload {
  const U = 18, I = 14, K = 3, rand = rng(99);
  const Wt = Array.from({ length: U * K }, () => rand()), Ht = Array.from({ length: K * I }, () => rand() * 2);
  const ratings: Rows = [];
  for (let u = 0; u < U; u++) for (let i = 0; i < I; i++) {
    if (rand() < 0.45) { let v = 0; for (let k = 0; k < K; k++) v += Wt[u * K + k]! * Ht[k * I + i]!; ratings.push([u, i, v + 0.05 * rand()]); }
  }
  const n = ratings.length;
  // loss = sum over observed (r - (W H)_ui)^2 / n: the mask (the ratings' keys) restricts the product.
  const f = (R: Tensor, M: Tensor, W: Tensor, H: Tensor) => r.div(r.sum(r.square(r.sub(R, r.mul(M, r.einsum('uk,ki->ui', W, H))))), n);
  const plan = gradPlan(f, [input('R', [U, I], { ...f64, tile: [1, 1] }), input('M', [U, I], { ...f64, tile: [1, 1] }),
    input('W', [U, K], { ...f64, tile: [1, 1] }), input('H', [K, I], { ...f64, tile: [1, 1] })], [2, 3]);
  return {
    name: `NMF of a ${U}x${I} ratings table (${n} ratings, rank ${K})`, plan, steps: 12, lr: 0.1,
    data: { 0: { name: 'ratings', cols: ['user', 'item', 'rating'], rows: ratings, keys: 2, value: true }, 1: { name: 'ratings', cols: ['user', 'item', 'rating'], rows: ratings, keys: 2, value: false } },
    params: [
      { arg: 2, table: 'nmf_w', shape: [U, K], init: Array.from({ length: U * K }, () => 0.2 + 0.6 * rand()), project: 'nonnegative' },
      { arg: 3, table: 'nmf_h', shape: [K, I], init: Array.from({ length: K * I }, () => 0.2 + 0.6 * rand()), project: 'nonnegative' },
    ],
  };
}

// ---- two-layer GCN over an edge table ----
function gcn(): Workload {
  const N = 30, F = 5, Hd = 4, C = 3, rand = rng(7);
  const cls = Array.from({ length: N }, () => Math.floor(rand() * C));
  const adj = new Set<string>();
  for (let i = 0; i < N; i++) adj.add(`${i},${i}`);
  for (let e = 0; e < 3 * N; e++) {
    const a = Math.floor(rand() * N), b = rand() < 0.7 ? cls.indexOf(cls[a]!, Math.floor(rand() * N)) : Math.floor(rand() * N);
    if (b >= 0) { adj.add(`${a},${b}`); adj.add(`${b},${a}`); }
  }
  const deg = new Array<number>(N).fill(0);
  for (const k of adj) deg[Number(k.split(',')[0])]!++;
  const edges: Rows = [...adj].map((k) => { const [a, b] = k.split(',').map(Number) as [number, number]; return [a, b, 1 / deg[a]!]; });
  const X = Array.from({ length: N * F }, (_, j) => (j % F === cls[Math.floor(j / F)]! ? 1 : 0) + 0.5 * (rand() - 0.5));
  const train = cls.map((c, i) => [i, c]).filter(() => rand() < 0.6);
  const f = (A: Tensor, Xt: Tensor, Y: Tensor, W1: Tensor, W2: Tensor) => {
    const h = r.relu(r.einsum('ij,jh->ih', A, r.einsum('jf,fh->jh', Xt, W1)));
    const z = r.einsum('ij,jc->ic', A, r.einsum('jh,hc->jc', h, W2));
    return r.div(r.neg(r.sum(r.mul(Y, r.logSoftmax(z, 1)))), train.length);
  };
  const plan = gradPlan(f, [input('A', [N, N], { ...f64, tile: [1, 1] }), input('X', [N, F], { ...f64, tile: [1, 1] }), input('Y', [N, C], { ...f64, tile: [1, 1] }),
    input('W1', [F, Hd], { ...f64, tile: [1, 1] }), input('W2', [Hd, C], { ...f64, tile: [1, 1] })], [3, 4]);
  return {
    name: `2-layer GCN, ${N} nodes, ${edges.length} edges, ${F} features, hidden ${Hd}, ${C} classes`, plan, steps: 10, lr: 0.5,
    data: {
      0: { name: 'edges', cols: ['src', 'dst', 'weight'], rows: edges, keys: 2, value: true },
      1: { name: 'features', cols: ['node', 'feature', 'x'], rows: denseRows([N, F], X), keys: 2, value: true },
      2: { name: 'train_labels', cols: ['node', 'class'], rows: train, keys: 2, value: false },
    },
    params: [
      { arg: 3, table: 'gcn_w1', shape: [F, Hd], init: Array.from({ length: F * Hd }, () => rand() - 0.5) },
      { arg: 4, table: 'gcn_w2', shape: [Hd, C], init: Array.from({ length: Hd * C }, () => rand() - 0.5) },
    ],
  };
}

// ---- DistMult over a triples table ----
function distmult(): Workload {
  const E = 16, R = 3, D = 4, rand = rng(31);
  const pos = new Map<string, number>();
  for (let k = 0; k < 40; k++) pos.set(`${Math.floor(rand() * E)},${Math.floor(rand() * R)},${Math.floor(rand() * E)}`, 1);
  for (const key of [...pos.keys()]) {
    const [h, rr] = key.split(',');
    const neg = `${h},${rr},${Math.floor(rand() * E)}`;
    if (!pos.has(neg)) pos.set(neg, 0);
  }
  const triples: Rows = [...pos].map(([k, y]) => [...k.split(',').map(Number), y]);
  const n = triples.length;
  // score(h,r,t) = sum_d E[h,d] Rel[r,d] E[t,d] on the sampled triples; logistic loss with labels y.
  const f = (T: Tensor, Y: Tensor, Em: Tensor, Rel: Tensor) => {
    const s = r.einsum('hrt,hd,rd,td->hrt', T, Em, Rel, Em);
    return r.div(r.sum(r.sub(r.log(r.add(r.exp(s), 1)), r.mul(Y, s))), n);
  };
  const plan = gradPlan(f, [input('T', [E, R, E], { ...f64, tile: [1, 1, 1] }), input('Y', [E, R, E], { ...f64, tile: [1, 1, 1] }),
    input('E', [E, D], { ...f64, tile: [1, 1] }), input('Rel', [R, D], { ...f64, tile: [1, 1] })], [2, 3]);
  return {
    name: `DistMult, ${E} entities, ${R} relations, ${n} sampled triples, dim ${D}`, plan, steps: 10, lr: 3,
    data: {
      0: { name: 'triples', cols: ['head', 'relation', 'tail', 'label'], rows: triples, keys: 3, value: false },
      1: { name: 'triples', cols: ['head', 'relation', 'tail', 'label'], rows: triples, keys: 3, value: true },
    },
    params: [
      { arg: 2, table: 'kge_entities', shape: [E, D], init: Array.from({ length: E * D }, () => 2 * rand() - 1) },
      { arg: 3, table: 'kge_relations', shape: [R, D], init: Array.from({ length: R * D }, () => 2 * rand() - 1) },
    ],
  };
}

const WORKLOADS = [nmf(), gcn(), distmult()];
const REFERENCE = WORKLOADS.map(referenceRun);

for (const { label: engine, engine: name, opts } of TRAIN_CONFIGS) {
  describe(`workloads trained inside ${engine}`, () => {
    const suite = engineSuite(name, 'work', undefined, opts);

    WORKLOADS.forEach((w, wi) => test(`${w.name}: ${w.steps} steps match the reference (1e-4) and the loss falls`, async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      const bindings: Record<string, SqlTable> = {};
      const created = new Set<string>();
      for (const [arg, d] of Object.entries(w.data)) {
        if (!created.has(d.name)) {
          created.add(d.name);
          await createTable(ex!, schema, d.name, d.cols.map((c, j) => [c, j < d.keys ? 'int' : 'double'] as [string, 'int' | 'double']));
          await insertRows(ex!, schema, d.name, d.rows);
        }
        bindings[`arg${arg}`] = new SqlTable({ table: d.name, schema, keys: d.cols.slice(0, d.keys), ...(d.value ? { value: d.cols[d.keys]! } : {}) });
      }
      const params = [];
      for (const p of w.params) {
        const keyCols = p.shape.map((_, d) => `d${d}`);
        await createTable(ex!, schema, p.table, [...keyCols.map((c) => [c, 'int'] as [string, 'int']), ['value', 'double']]);
        await insertRows(ex!, schema, p.table, denseRows(p.shape, p.init));
        const table = new SqlTable({ table: p.table, schema, keys: keyCols, value: 'value' });
        bindings[`arg${p.arg}`] = table;
        params.push({ grad: `grad${p.arg}`, table, ...(p.project ? { project: p.project } : {}) });
      }
      const losses: number[] = [];
      const t0 = performance.now();
      for (let s = 0; s < w.steps; s++) losses.push(await sqlTrainStep(ex!, w.plan, bindings as SqlBindings, params, { lr: w.lr }));
      const ms = (performance.now() - t0) / w.steps;
      const ref = REFERENCE[wi]!;
      losses.forEach((l, s) => assert.ok(Math.abs(l - ref.losses[s]!) <= 1e-4 * Math.abs(ref.losses[s]!), `step ${s}: loss ${l} vs reference ${ref.losses[s]}`));
      assert.ok(losses[w.steps - 1]! < losses[0]!, `loss fell: ${losses[0]} -> ${losses[w.steps - 1]}`);
      let worst = 0;
      for (const [j, p] of w.params.entries()) {
        const cols = await ex!.engine.query(`SELECT ${[...p.shape.map((_, d) => quoteIdent(`d${d}`)), quoteIdent('value')].join(', ')} FROM ${params[j]!.table.from}`);
        const got = new Float64Array(ref.params[j]!.length);
        cols[0]!.forEach((_, row) => { let flat = 0; p.shape.forEach((n, d) => { flat = flat * n + cols[d]![row]!; }); got[flat] = cols[p.shape.length]![row]!; });
        got.forEach((v, k) => { const want = ref.params[j]![k]!; worst = Math.max(worst, Math.abs(v - want) / Math.max(1e-6, Math.abs(want))); });
      }
      assert.ok(worst <= 1e-4, `parameters differ from the reference: max rel err ${worst}`);
      console.log(`${engine}: ${w.name}: loss ${losses[0]!.toFixed(5)} -> ${losses[w.steps - 1]!.toFixed(5)}, parameters max rel err ${worst.toExponential(2)}, ${ms.toFixed(0)} ms/step`);
    }));
  });
}
