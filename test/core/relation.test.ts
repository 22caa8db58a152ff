/** Tensor relations: dense <-> relation under any tiling (ragged edges too), sparse relations, hand-built TRA plans. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { denseSchema, explain, makeTile, Plan, Relation, runSync, tra } from '../../src/index.js';
import { randomData, rng, size } from '../helpers/dense.js';

test('fromDense/toDense round-trips any shape under any tiling', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 0, maxLength: 4 }), fc.integer(), (shape, seed) => {
    const r = rng(seed);
    const tile = shape.map((n) => 1 + Math.floor(r() * (n + 2)));
    const data = randomData(size(shape), r);
    const rel = Relation.fromDense(data, shape, { tile, dtype: 'float64' });
    assert.equal(rel.size, shape.reduce((a, n, d) => a * Math.ceil(n / Math.min(tile[d]!, n)), 1));
    assert.deepEqual(Array.from(rel.toDense().data), Array.from(data));
  }), { numRuns: 200, seed: 5 });
});

test('ragged edge tiles have the remainder shape', () => {
  const rel = Relation.fromDense(Array.from({ length: 35 }, (_, i) => i), [5, 7], { tile: [2, 3] });
  assert.deepEqual(rel.schema.keys, [3, 3]);
  assert.deepEqual(rel.get([2, 2])!.shape, [1, 1]);
  assert.deepEqual(Array.from(rel.get([2, 2])!.data), [34]);
  assert.deepEqual(Array.from(rel.get([1, 2])!.data), [20, 27]);
});

test('a sparse relation (block-sparse matrix) reads back with zeros where tuples are missing', () => {
  const rel = new Relation(denseSchema([4, 4], [2, 2], 'float32'), 'blocks');
  rel.set([1, 0], makeTile([2, 2], 'float32', [1, 2, 3, 4]));
  assert.deepEqual(Array.from(rel.toDense().data), [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
});

test('a hand-built TRA plan: blocked matmul as join + aggregate, then filter and rekey', () => {
  const r = rng(3);
  const A = Relation.fromDense(randomData(12, r), [3, 4], { tile: [2, 2], dtype: 'float64' });
  const B = Relation.fromDense(randomData(8, r), [4, 2], { tile: [2, 1], dtype: 'float64' });
  const a = tra.input('A', A.schema), b = tra.input('B', B.schema);
  const prod = tra.aggregate(tra.join(a, b, [[1, 0]], { name: 'einsum', attrs: { spec: 'ik,kj->ij' } }), [0, 2], 'sum');
  const upper = tra.filter(prod, [{ dim: 0, cmp: '<', value: 1 }]);
  const swapped = tra.rekey(tra.map(prod, { name: 'einsum', attrs: { spec: 'ij->ji' } }), [1, 0]);
  const plan = new Plan([prod, upper, swapped], ['C', 'C_top', 'C_T']);
  const [C, top, CT] = runSync(plan, { A, B });
  const a2 = A.toDense().data, b2 = B.toDense().data;
  const want = Array.from({ length: 6 }, (_, n) => { const i = Math.floor(n / 2), j = n % 2; let s = 0; for (let k = 0; k < 4; k++) s += a2[i * 4 + k]! * b2[k * 2 + j]!; return s; });
  Array.from(C!.toDense().data).forEach((v, n) => assert.ok(Math.abs(v - want[n]!) < 1e-12));
  assert.equal(top!.size, 2);
  assert.ok(Math.abs(CT!.toDense().data[1]! - want[2]!) < 1e-12);
  const text = explain(plan);
  assert.match(text, /join\(%\d+, %\d+\) on \[1=0\] einsum\(ik,kj->ij\)/);
  assert.match(text, /aggregate\(%\d+\) sum group by \[0,2\]/);
  assert.match(text, /return C=%\d+, C_top=%\d+, C_T=%\d+/);
  // Plans are data: equal after a JSON round trip, and different when anything changes.
  const back = Plan.fromJSON(JSON.parse(JSON.stringify(plan.toJSON())));
  assert.ok(back.equals(plan));
  assert.ok(!back.equals(new Plan([prod], ['C'])));
});
