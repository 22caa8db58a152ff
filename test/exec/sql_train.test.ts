/**
 * Training inside the database: logistic regression on a sparse feature table (row, col, val), labels and
 * weights in their own tables. Each step runs the value-and-gradient plan as SQL and updates the weight
 * table with one UPDATE; only the loss comes back. The losses and the final weights must match the
 * reference executor running the same steps in Node (float64) within 1e-4 relative, and the loss must fall.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { add, einsum, exp, gradPlan, input, log, mean, mul, Relation, runSync, sub, type Tensor } from '../../src/index.js';
import { sqlTrainStep, SqlTable, quoteIdent } from '../../src/exec/sql/index.js';
import { denseSchema } from '../../src/tra/schema.js';
import { makeTile } from '../../src/tile.js';
import { rng } from '../helpers/dense.js';
import { createTable, engineSuite, insertRows, TRAIN_CONFIGS } from '../helpers/sql.js';

const N = 150, D = 24, STEPS = 15, LR = 0.5, DENSITY = 0.15;

/** A sparse design matrix (bias column D-1 always 1), labels from a planted weight vector, initial weights. */
function dataset() {
  const r = rng(4242);
  const feats: [number, number, number][] = [];
  const planted = Array.from({ length: D }, () => 2 * r() - 1);
  const y: number[] = [];
  for (let i = 0; i < N; i++) {
    let z = planted[D - 1]!;
    feats.push([i, D - 1, 1]);
    for (let j = 0; j < D - 1; j++) if (r() < DENSITY) { const v = 2 * r() - 1; feats.push([i, j, v]); z += planted[j]! * v; }
    y.push(r() < 1 / (1 + Math.exp(-3 * z)) ? 1 : 0);
  }
  const w0 = Array.from({ length: D }, () => 0.1 * (r() - 0.5));
  return { feats, y, w0 };
}

/** mean(log(1 + exp(z)) - y z), z = X w, over a sparse X (tiles of one element). */
const loss = (x: Tensor, w: Tensor, y: Tensor): Tensor => {
  const z = einsum('ij,j->i', x, w);
  return mean(sub(log(add(exp(z), 1)), mul(y, z)));
};

const plan = gradPlan(loss, [
  input('X', [N, D], { dtype: 'float64', tile: [1, 1] }),
  input('w', [D], { dtype: 'float64', tile: [1] }),
  input('y', [N], { dtype: 'float64', tile: [1] }),
], [1]);

/** The same steps on the reference executor: losses and final weights. */
function referenceRun(): { losses: number[]; w: number[] } {
  const { feats, y, w0 } = dataset();
  const X = new Relation(denseSchema([N, D], [1, 1], 'float64'), 'X');
  for (const [i, j, v] of feats) X.set([i, j], makeTile([1, 1], 'float64', [v]));
  const w = Float64Array.from(w0), losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const [value, g] = runSync(plan, { arg0: X, arg1: { shape: [D], data: w }, arg2: { shape: [N], data: y } }, { precision: 'float64' });
    losses.push(value!.toDense().data[0]!);
    const gd = g!.toDense().data;
    for (let j = 0; j < D; j++) w[j]! -= LR * gd[j]!;
  }
  return { losses, w: [...w] };
}

const reference = referenceRun();

for (const { label: engine, engine: name, opts } of TRAIN_CONFIGS) {
  describe(`training inside ${engine}`, () => {
    const suite = engineSuite(name, 'train', undefined, opts);

    test(`logistic regression on a sparse feature table: ${STEPS} steps match the reference (1e-4 relative) and the loss falls`, async (t) => {
      if (suite.skip) { t.skip(suite.skip); return; }
      const ex = suite.ex!, schema = suite.schema;
      const { feats, y, w0 } = dataset();
      await createTable(ex!, schema, 'features', [['row', 'int'], ['col', 'int'], ['val', 'double']]);
      await createTable(ex!, schema, 'labels', [['row', 'int'], ['y', 'double']]);
      await createTable(ex!, schema, 'weights', [['col', 'int'], ['w', 'double']]);
      await insertRows(ex!, schema, 'features', feats);
      await insertRows(ex!, schema, 'labels', y.map((v, i) => [i, v]));
      await insertRows(ex!, schema, 'weights', w0.map((v, j) => [j, v]));
      const W = new SqlTable({ table: 'weights', schema, keys: ['col'], value: 'w' });
      const bindings = {
        arg0: new SqlTable({ table: 'features', schema, keys: ['row', 'col'], value: 'val' }),
        arg1: W,
        arg2: new SqlTable({ table: 'labels', schema, keys: ['row'], value: 'y' }),
      };
      const losses: number[] = [];
      const t0 = performance.now();
      for (let s = 0; s < STEPS; s++) losses.push(await sqlTrainStep(ex!, plan, bindings, [{ grad: 'grad1', table: W }], { lr: LR }));
      const ms = (performance.now() - t0) / STEPS;
      losses.forEach((l, s) => assert.ok(Math.abs(l - reference.losses[s]!) <= 1e-4 * Math.abs(reference.losses[s]!), `step ${s}: loss ${l} vs reference ${reference.losses[s]}`));
      assert.ok(losses[STEPS - 1]! < 0.9 * losses[0]!, `loss fell from ${losses[0]} to ${losses[STEPS - 1]}`);
      const [cols, ws] = await ex!.engine.query(`SELECT ${quoteIdent('col')}, ${quoteIdent('w')} FROM ${W.from} ORDER BY 1`);
      assert.deepEqual(cols, Array.from({ length: D }, (_, j) => j));
      let worst = 0;
      ws!.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - reference.w[j]!) / Math.max(1e-12, Math.abs(reference.w[j]!))); });
      assert.ok(worst <= 1e-4, `weights differ from the reference: max rel err ${worst}`);
      console.log(`${engine}: logistic regression ${N}x${D} (${feats.length} nonzeros), ${STEPS} steps, loss ${losses[0]!.toFixed(5)} -> ${losses[STEPS - 1]!.toFixed(5)}, weights max rel err ${worst.toExponential(2)}, ${ms.toFixed(1)} ms/step`);
    });
  });
}
