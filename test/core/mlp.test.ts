/** A two-layer MLP written with einsum trains on a made-up classification task: its loss falls. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trainMlp } from '../../examples/quickstart.js';

test('two-layer einsum MLP: loss falls and the blobs are separated', () => {
  const { first, last, accuracy } = trainMlp(60, false);
  console.log(`MLP loss ${first.toFixed(4)} -> ${last.toFixed(4)}, accuracy ${(accuracy * 100).toFixed(1)}%`);
  assert.ok(last < 0.5 * first, `loss ${first} -> ${last} did not halve`);
  assert.ok(accuracy > 0.9, `training accuracy ${accuracy}`);
});
