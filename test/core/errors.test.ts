/** Bad input gets typed errors that name the operand, index letter, key and sizes involved. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BindingError, einsum, EinsumShapeError, input, KeyError, makeTile, NonFiniteError, Relation, denseSchema, log, tensor,
  TileShapeError, add, ShapeError, Plan, PlanError, reshape,
} from '../../src/index.js';

const ones = (shape: number[]) => tensor(new Array(shape.reduce((a, b) => a * b, 1)).fill(1), { shape });

test('einsum: an index bound to two sizes names the letter, operands and sizes', () => {
  assert.throws(() => einsum('ij,jk->ik', ones([2, 3]), ones([4, 5])), (e: unknown) =>
    e instanceof EinsumShapeError && e.details.letter === 'j' && e.details.operand === 1 &&
    JSON.stringify(e.details.sizes) === '[3,4]' && /index 'j' is 3 in operand 0 dim 1 but 4 in operand 1 dim 0/.test(e.message));
});

test('einsum: wrong rank and wrong operand count', () => {
  assert.throws(() => einsum('ij,jk->ik', ones([2, 3]), ones([3])), (e: unknown) => e instanceof EinsumShapeError && e.details.operand === 1 && /rank 1/.test(e.message));
  assert.throws(() => einsum('ij,jk->ik', ones([2, 3])), (e: unknown) => e instanceof EinsumShapeError && /2 operand\(s\), got 1/.test(e.message));
  assert.throws(() => einsum('ii->i', ones([2, 3])), (e: unknown) => e instanceof EinsumShapeError && e.details.letter === 'i');
});

test('relations: tiles of the wrong shape and keys outside the schema', () => {
  const rel = new Relation(denseSchema([5, 4], [2, 4], 'float32'), 'W');
  assert.throws(() => rel.set([2, 0], makeTile([2, 4])), (e: unknown) => e instanceof TileShapeError && /W: tile at key \(2,0\) has shape \[2,4\], expected \[1,4\]/.test(e.message));
  assert.throws(() => rel.set([3, 0], makeTile([1, 4])), (e: unknown) => e instanceof KeyError && /outside the schema in key dimension 0/.test(e.message));
  assert.throws(() => rel.set([0], makeTile([2, 4])), (e: unknown) => e instanceof KeyError && /arity 1/.test(e.message));
  rel.set([0, 0], makeTile([2, 4]));
  assert.throws(() => rel.set([0, 0], makeTile([2, 4])), (e: unknown) => e instanceof KeyError && /occurs twice/.test(e.message));
});

test('NaN in an input is refused, naming the input, key and element', () => {
  const x = input('x', [2, 2], { tile: [1, 2] });
  const y = add(x, 1);
  assert.throws(() => y.dataSync({ x: { shape: [2, 2], data: [1, 2, 3, NaN] } }), (e: unknown) =>
    e instanceof NonFiniteError && e.details.where === "input 'x'" && JSON.stringify(e.details.key) === '[1,0]' && e.details.index === 1);
});

test('a kernel that produces NaN (log of a negative) is caught where it happens, not silently passed on', () => {
  assert.throws(() => log(tensor([1, -1])).dataSync(), (e: unknown) => e instanceof NonFiniteError && /map log/.test(String(e.details.where) + e.message));
});

test('bindings: missing input, wrong shape', () => {
  const x = input('x', [2, 2]);
  assert.throws(() => add(x, 1).dataSync({}), (e: unknown) => e instanceof BindingError && /input 'x': is not bound/.test(e.message));
  assert.throws(() => add(x, 1).dataSync({ x: { shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } }), (e: unknown) => e instanceof BindingError && /\[2,3\]/.test(e.message));
});

test('broadcasting and reshape errors name the shapes', () => {
  assert.throws(() => add(ones([2, 3]), ones([4])), (e: unknown) => e instanceof ShapeError && /\[2,3\] and \[4\] do not broadcast/.test(e.message));
  assert.throws(() => reshape(ones([2, 3]), [4]), (e: unknown) => e instanceof ShapeError && /cannot reshape \[2,3\]/.test(e.message));
});

test('malformed plan JSON is rejected with PlanError', () => {
  assert.throws(() => Plan.fromJSON({ format: 'nope' }), PlanError);
  const good = new Plan([add(input('x', [2]), 1).node]).toJSON();
  const bad = JSON.parse(JSON.stringify(good));
  bad.nodes[1].inputs = [5];
  assert.throws(() => Plan.fromJSON(bad), (e: unknown) => e instanceof PlanError && /node 1: malformed/.test(e.message));
  const lying = JSON.parse(JSON.stringify(good));
  lying.nodes[1].schema.keys = [7];
  assert.throws(() => Plan.fromJSON(lying), (e: unknown) => e instanceof PlanError && /differs from the inferred/.test(e.message));
});
