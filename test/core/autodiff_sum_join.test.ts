/**
 * sum(join(L, R)) is differentiated as one operator (autodiff/rules.ts sumOfJoinRule): the gradient plan
 * never spreads the cotangent over the join's keys, so the join-sized relation is never built for the
 * backward pass, and the numbers are the dense float64 ones.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { einsum, gradPlan, mul, runSync, sum, tanh, tensor, type Relation } from '../../src/index.js';
import { randomData, rng } from '../helpers/dense.js';

test('a blocked matmul\'s gradient plan reads the forward join only through its sum, and equals the dense gradients', () => {
  const r = rng(7), I = 6, K = 8, J = 5;
  const A = tensor(randomData(I * K, r), { shape: [I, K], tile: [2, 4], dtype: 'float64' });
  const B = tensor(randomData(K * J, r), { shape: [K, J], tile: [4, 5], dtype: 'float64' });
  const C = tensor(randomData(I * J, r), { shape: [I, J], tile: [2, 5], dtype: 'float64' });
  const plan = gradPlan((a, b, c) => sum(mul(tanh(einsum('ik,kj->ij', a!, b!)), c!)), [A, B, C], [0, 1]);
  const joins = plan.nodes().filter((n) => n.op === 'join' && (n.attrs.kernel as { name: string }).name === 'einsum' && n.inputs.every((x) => x.op === 'input'));
  assert.equal(joins.length, 1, 'one forward product join');
  const readers = plan.nodes().filter((n) => n.inputs.includes(joins[0]!));
  assert.deepEqual(readers.map((n) => n.op), ['aggregate'], 'only its sum reads the forward join');
  const bind = { arg0: A.node.attrs.value as Relation, arg1: B.node.attrs.value as Relation, arg2: C.node.attrs.value as Relation };
  const [, gA, gB] = runSync(plan, bind);
  const a = A.dataSync(), b = B.dataSync(), c = C.dataSync();
  const dZ = new Float64Array(I * J);
  for (let i = 0; i < I; i++) for (let j = 0; j < J; j++) {
    let z = 0;
    for (let k = 0; k < K; k++) z += a[i * K + k]! * b[k * J + j]!;
    dZ[i * J + j] = (1 - Math.tanh(z) ** 2) * c[i * J + j]!;
  }
  const ga = gA!.toDense().data, gb = gB!.toDense().data;
  for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) {
    let s = 0;
    for (let j = 0; j < J; j++) s += dZ[i * J + j]! * b[k * J + j]!;
    assert.ok(Math.abs(ga[i * K + k]! - s) < 1e-12, `dA[${i},${k}]`);
  }
  for (let k = 0; k < K; k++) for (let j = 0; j < J; j++) {
    let s = 0;
    for (let i = 0; i < I; i++) s += a[i * K + k]! * dZ[i * J + j]!;
    assert.ok(Math.abs(gb[k * J + j]! - s) < 1e-12, `dB[${k},${j}]`);
  }
});
