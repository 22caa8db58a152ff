/** Gradients through sparse relations are sparse where the input is: an embedding lookup and a GCN layer. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { denseSchema, einsum, fromRelation, gradPlan, makeTile, mul, relu, Relation, runSync, sum, tanh, tensor } from '../../src/index.js';
import { randomData, rng } from '../helpers/dense.js';

test('embedding lookup: the table gradient has tuples only for the rows looked up', () => {
  const V = 50, D = 4, r = rng(1);
  const table = tensor(randomData(V * D, r), { shape: [V, D], tile: [1, D], dtype: 'float64' });
  // A batch of 3 ids as a sparse one-hot relation [3, V] with 1x1 tiles.
  const ids = [7, 19, 7];
  const onehot = new Relation(denseSchema([3, V], [1, 1], 'float64'), 'ids');
  ids.forEach((v, b) => onehot.set([b, v], makeTile([1, 1], 'float64', [1])));
  const w = tensor(randomData(3 * D, r), { shape: [3, D], dtype: 'float64' });
  const f = (E: ReturnType<typeof tensor>, I: ReturnType<typeof tensor>, W: ReturnType<typeof tensor>) => sum(mul(tanh(einsum('bv,vd->bd', I, E)), W));
  const plan = gradPlan((E, I, W) => f(E!, I!, W!), [table, fromRelation(onehot), w], [0]);
  const [, gE] = runSync(plan, { arg0: (table.node.attrs.value as Relation), arg1: onehot, arg2: w.node.attrs.value as Relation });
  assert.deepEqual([...gE!.tuples()].map((t) => t.key[0]).sort((a, b) => a! - b!), [7, 19]);
  // Values: row 7 receives two contributions, row 19 one.
  const e = table.dataSync(), wd = w.dataSync(), g = gE!.toDense().data;
  for (let d = 0; d < D; d++) {
    const t7 = Math.tanh(e[7 * D + d]!), t19 = Math.tanh(e[19 * D + d]!);
    assert.ok(Math.abs(g[7 * D + d]! - (1 - t7 * t7) * (wd[d]! + wd[2 * D + d]!)) < 1e-12);
    assert.ok(Math.abs(g[19 * D + d]! - (1 - t19 * t19) * wd[D + d]!) < 1e-12);
    assert.equal(g[3 * D + d], 0);
  }
});

test('GCN layer over an edge relation: the adjacency gradient lives on the edges and matches the dense computation', () => {
  const N = 12, F = 3, H = 2, r = rng(2);
  const edges: [number, number][] = [[0, 1], [1, 2], [2, 0], [3, 4], [5, 11], [11, 5], [7, 7], [8, 3]];
  const A = new Relation(denseSchema([N, N], [1, 1], 'float64'), 'edges');
  for (const [u, v] of edges) A.set([u, v], makeTile([1, 1], 'float64', [0.5 + r()]));
  const X = tensor(randomData(N * F, r), { shape: [N, F], tile: [4, F], dtype: 'float64' });
  const W = tensor(randomData(F * H, r), { shape: [F, H], dtype: 'float64' });
  const gcn = (a: ReturnType<typeof tensor>, x: ReturnType<typeof tensor>, w: ReturnType<typeof tensor>) => sum(mul(relu(einsum('uv,vf,fh->uh', a, x, w)), relu(einsum('uv,vf,fh->uh', a, x, w))));
  const binds = { arg1: X.node.attrs.value as Relation, arg2: W.node.attrs.value as Relation };
  const sparsePlan = gradPlan((a, x, w) => gcn(a!, x!, w!), [fromRelation(A), X, W], [0, 2]);
  const [vS, gA, gW] = runSync(sparsePlan, { arg0: A, ...binds });
  assert.equal(gA!.size, edges.length, 'one gradient tuple per edge');
  for (const t of gA!.tuples()) assert.ok(edges.some(([u, v]) => u === t.key[0] && v === t.key[1]));
  // The same function on the dense adjacency (explicit zeros) gives the same value and the same gradients on the edges.
  const dense = tensor(A.toDense().data, { shape: [N, N], tile: [N, N], dtype: 'float64' });
  const densePlan = gradPlan((a, x, w) => gcn(a!, x!, w!), [dense, X, W], [0, 2]);
  const [vD, gAD, gWD] = runSync(densePlan, { arg0: dense.node.attrs.value as Relation, ...binds });
  assert.ok(Math.abs(vS!.toDense().data[0]! - vD!.toDense().data[0]!) < 1e-12);
  const gs = gA!.toDense().data, gd = gAD!.toDense().data;
  for (const [u, v] of edges) assert.ok(Math.abs(gs[u * N + v]! - gd[u * N + v]!) < 1e-12);
  Array.from(gW!.toDense().data).forEach((x, i) => assert.ok(Math.abs(x - gWD!.toDense().data[i]!) < 1e-12));
});
