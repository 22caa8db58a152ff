/**
 * Sparse (CSR) block tiles and spmm: values against a dense float64 product, gradients (w.r.t. the dense
 * operand and the sparse values) against finite differences, the in-process executor (ort backend, one
 * and two sites) against the reference, and typed errors for bad coordinates and misuse.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  add as r2, einsum, gradPlan, input, InprocExecutor, KernelError, mul, optimize, relu, runSync, ShapeError, SparseIndexError, sparseRelation,
  sparseTensor, sparseToDense, spmm, sum, tanh, tensor, toPlan, type Coo, type Relation, type Tensor,
} from '../../src/index.js';
import { maxRelErr, randomData, rng } from '../helpers/dense.js';

/** A random n×m COO list with `nnz` entries, some coordinates repeated (they add up). */
function randomCoo(n: number, m: number, nnz: number, seed: number): Coo {
  const r = rng(seed), rows: number[] = [], cols: number[] = [];
  for (let e = 0; e < nnz; e++) {
    if (e > 0 && e % 7 === 0) { rows.push(rows[e - 1]!); cols.push(cols[e - 1]!); continue; } // a duplicate
    rows.push(Math.floor(r() * n)); cols.push(Math.floor(r() * m));
  }
  return { rows, cols, values: randomData(nnz, r) };
}

function denseOf(coo: Coo, n: number, m: number): Float64Array {
  const d = new Float64Array(n * m);
  for (let e = 0; e < coo.rows.length; e++) d[coo.rows[e]! * m + coo.cols[e]!] += coo.values[e]!;
  return d;
}

function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let x = 0; x < k; x++) out[i * k + x] += a[i * m + j]! * b[j * k + x]!;
  return out;
}

const N = 11, M = 9, K = 5;
const coo = randomCoo(N, M, 30, 1);
const hData = randomData(M * K, rng(2)), wData = randomData(N * K, rng(3));

test('sparseRelation stores CSR blocks that assemble to the dense matrix (duplicates summed, empty blocks absent)', () => {
  for (const tile of [[N, M], [4, 3], [1, M], [5, 9]] as [number, number][]) {
    const rel = sparseRelation(coo, [N, M], { tile, dtype: 'float64' });
    assert.ok(maxRelErr(sparseToDense(rel).data, denseOf(coo, N, M)) < 1e-15, `tile ${tile}`);
    for (const t of rel.tuples()) assert.ok(t.tile.csr && t.tile.data.length > 0, `tile ${tile}: stored blocks hold nonzeros`);
  }
  const sparse = sparseRelation({ rows: [0], cols: [8], values: [2] }, [N, M], { tile: [4, 3] });
  assert.deepEqual([...sparse.tuples()].map((t) => t.key), [[0, 2]]);
});

test('spmm equals the dense product for several block shapes (H re-tiled to match)', () => {
  const want = matmul(denseOf(coo, N, M), hData, N, M, K);
  for (const [tile, hTile] of [[[N, M], [M, K]], [[4, 3], [M, K]], [[4, 3], [3, 2]], [[2, 9], [4, 5]]] as [[number, number], number[]][]) {
    const A = sparseTensor(coo, [N, M], { tile, dtype: 'float64' });
    const got = spmm(A, tensor(hData, { shape: [M, K], tile: hTile, dtype: 'float64' })).dataSync();
    assert.ok(maxRelErr(got, want) < 1e-12, `A tile ${tile}, H tile ${hTile}: ${maxRelErr(got, want)}`);
  }
});

/** loss(A, H) = Σ W ⊙ tanh(A·H): nonlinear so every gradient entry is exercised. */
const loss = (A: Tensor, H: Tensor) => sum(mul(tanh(spmm(A, H)), tensor(wData, { shape: [N, K], dtype: 'float64' })));

function value(c: Coo, h: Float64Array): number {
  const z = matmul(denseOf(c, N, M), h, N, M, K);
  return z.reduce((s, v, i) => s + wData[i]! * Math.tanh(v), 0);
}

test('spmm gradients w.r.t. H and w.r.t. A\'s values match central finite differences', () => {
  const tile: [number, number] = [4, 3];
  const plan = gradPlan(loss, [input('A', [N, M], { tile, dtype: 'float64' }), input('H', [M, K], { tile: [3, K], dtype: 'float64' })], [0, 1]);
  const [v, gA, gH] = runSync(plan, { arg0: sparseRelation(coo, [N, M], { tile, dtype: 'float64' }), arg1: { shape: [M, K], data: hData } });
  assert.ok(Math.abs(v!.toDense().data[0]! - value(coo, hData)) < 1e-12);
  const h = 1e-6;
  const dH = gH!.toDense().data;
  for (let i = 0; i < hData.length; i++) {
    const p = hData.slice(), m = hData.slice();
    p[i] += h; m[i] -= h;
    const fd = (value(coo, p) - value(coo, m)) / (2 * h);
    assert.ok(Math.abs(dH[i]! - fd) < 1e-7, `dH[${i}]: ${dH[i]} vs ${fd}`);
  }
  // dA is sparse, on A's pattern: each stored nonzero (i, j) holds dLoss/dA[i, j].
  let checked = 0;
  for (const { key, tile: t } of gA!.tuples()) {
    assert.ok(t.csr, 'the gradient w.r.t. a sparse matrix is sparse');
    for (let i = 0; i + 1 < t.csr.indptr.length; i++) for (let p = t.csr.indptr[i]!; p < t.csr.indptr[i + 1]!; p++) {
      const row = key[0]! * tile[0] + i, col = key[1]! * tile[1] + t.csr.indices[p]!;
      const e = Array.from(coo.rows).findIndex((r, q) => r === row && coo.cols[q] === col);
      const bump = (d: number) => ({ ...coo, values: Array.from(coo.values, (x, q) => (q === e ? x + d : x)) });
      const fd = (value(bump(h), hData) - value(bump(-h), hData)) / (2 * h);
      assert.ok(Math.abs(t.data[p]! - fd) < 1e-7, `dA[${row},${col}]: ${t.data[p]} vs ${fd}`);
      checked++;
    }
  }
  assert.ok(checked >= 20, `checked ${checked} nonzeros`);
});

const executors = [new InprocExecutor({ sites: 1 }), new InprocExecutor({ sites: 2 })];
after(() => Promise.all(executors.map((e) => e.close())));

test('a two-layer GCN step on the in-process executor (ort kernels, float32; 1 and 2 sites) equals the float64 reference', async () => {
  const F = 6, Hd = 4, C = 3, tile: [number, number] = [4, N];
  const gcn = (A: Tensor, X: Tensor, W1: Tensor, W2: Tensor) =>
    sum(tanh(spmm(A, einsum('jh,hc->jc', relu(spmm(A, einsum('jf,fh->jh', X, W1))), W2))));
  const shapes = { X: [N, F], W1: [F, Hd], W2: [Hd, C] };
  const data = { X: randomData(N * F, rng(4)), W1: randomData(F * Hd, rng(5)), W2: randomData(Hd * C, rng(6)) };
  const mk = (dtype: 'float32' | 'float64') => gradPlan(gcn, [input('A', [N, N], { tile, dtype }), input('X', shapes.X, { tile: [4, F], dtype }),
    input('W1', shapes.W1, { dtype }), input('W2', shapes.W2, { dtype })], [2, 3]);
  const adj = randomCoo(N, N, 40, 7);
  const bind = (dtype: 'float32' | 'float64') => ({ arg0: sparseRelation(adj, [N, N], { tile, dtype }), arg1: { shape: shapes.X, data: data.X }, arg2: { shape: shapes.W1, data: data.W1 }, arg3: { shape: shapes.W2, data: data.W2 } });
  const want = runSync(mk('float64'), bind('float64')).map((r: Relation) => r.toDense().data);
  for (const ex of executors) {
    const got = (await ex.run(mk('float32'), bind('float32'))).map((r) => r.toDense().data);
    got.forEach((g, i) => assert.ok(maxRelErr(g, want[i]!) < 1e-5, `${ex.name}: output ${i} off by ${maxRelErr(g, want[i]!)}`));
  }
});

test('bad coordinates and misuse give typed errors naming what was wrong', () => {
  assert.throws(() => sparseRelation({ rows: [0, 11], cols: [0, 1], values: [1, 1] }, [N, M]), (e: unknown) =>
    e instanceof SparseIndexError && e.details.entry === 1 && e.details.row === 11 && /entry 1 at \(11, 1\)/.test(e.message));
  assert.throws(() => sparseRelation({ rows: [0, 1], cols: [0, -1], values: [1, 1] }, [N, M]), SparseIndexError);
  assert.throws(() => sparseRelation({ rows: [0.5], cols: [0], values: [1] }, [N, M]), SparseIndexError);
  assert.throws(() => sparseRelation({ rows: [0, 1], cols: [0], values: [1, 1] }, [N, M]), /lengths 2, 1 and 2/);
  const A = sparseTensor(coo, [N, M], { dtype: 'float64' });
  assert.throws(() => spmm(A, tensor(randomData(N * K, rng(1)), { shape: [N, K], dtype: 'float64' })), ShapeError);
  // A dense kernel must not read a sparse tile's compressed values as if they were row-major.
  assert.throws(() => relu(A).dataSync(), (e: unknown) => e instanceof KernelError && /sparse \(CSR\) tile/.test(e.message));
  assert.throws(() => A.dataSync(), (e: unknown) => e instanceof ShapeError && /cannot be copied densely/.test(e.message), 'nor be assembled densely');
});

test('the tile-size pass keeps a sparse input\'s blocking (re-tiling CSR tiles would need a dense copy)', () => {
  // Without the rule the pass halves A's blocks here (2 sites), and binding the sparse relation would fail.
  const N2 = 20000;
  const plan = gradPlan((A: Tensor, H: Tensor) => sum(tanh(spmm(A, H))), [input('A', [N2, N2], { tile: [N2, N2] }), input('H', [N2, 128], { tile: [N2, 128] })], [1]);
  const ia = optimize(plan, { sites: 2 });
  const a = ia.steps.find((s) => s.node.op === 'input' && s.node.attrs.name === 'arg0')!;
  assert.deepEqual(a.node.schema.tile.map((t) => t.size), [N2, N2]);
});

test('gradients w.r.t. a sparse matrix used twice add up on its pattern', () => {
  const tile: [number, number] = [4, 3], h2 = randomData(M * K, rng(9));
  const twice = (A: Tensor, H: Tensor, H2: Tensor) => r2(sum(mul(tanh(spmm(A, H)), tensor(wData, { shape: [N, K], dtype: 'float64' }))), sum(spmm(A, H2)));
  const plan = gradPlan(twice, [input('A', [N, M], { tile, dtype: 'float64' }), input('H', [M, K], { dtype: 'float64' }), input('H2', [M, K], { dtype: 'float64' })], [0]);
  const [, gA] = runSync(plan, { arg0: sparseRelation(coo, [N, M], { tile, dtype: 'float64' }), arg1: { shape: [M, K], data: hData }, arg2: { shape: [M, K], data: h2 } });
  // d/dA[i,j] of Σ A·H2 is Σ_k H2[j,k]; of the first term, G·Hᵀ: compare against finite differences of the total.
  const total = (c: Coo) => value(c, hData) + matmul(denseOf(c, N, M), h2, N, M, K).reduce((s, v) => s + v, 0);
  const h = 1e-6;
  for (const { key, tile: t } of gA!.tuples()) {
    for (let i = 0; i + 1 < t.csr!.indptr.length; i++) for (let p = t.csr!.indptr[i]!; p < t.csr!.indptr[i + 1]!; p++) {
      const row = key[0]! * tile[0] + i, col = key[1]! * tile[1] + t.csr!.indices[p]!;
      const e = Array.from(coo.rows).findIndex((r, q) => r === row && coo.cols[q] === col);
      const bump = (d: number) => ({ ...coo, values: Array.from(coo.values, (x, q) => (q === e ? x + d : x)) });
      const fd = (total(bump(h)) - total(bump(-h))) / (2 * h);
      assert.ok(Math.abs(t.data[p]! - fd) < 1e-6, `dA[${row},${col}]: ${t.data[p]} vs ${fd}`);
    }
  }
});

test('on the one-site ort executor a dense kernel given a sparse tile fails with the KernelError, not an onnxruntime error', async () => {
  const A = sparseRelation({ rows: [0, 1], cols: [1, 2], values: [1, 2] }, [3, 3]);
  await assert.rejects(executors[0]!.run(toPlan(relu(input('A', [3, 3]))), { A }), (e: unknown) => e instanceof KernelError && /sparse \(CSR\) tile/.test(e.message));
});
