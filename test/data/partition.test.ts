import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirichlet, partitionByLabel, partitionDirichlet, partitionIid } from '../../src/data/partition.js';
import { mulberry32 } from '../../src/data/loader.js';
import { OptionError } from '../../src/errors.js';

/** 1000 rows, 10 balanced classes, in a scrambled order. */
const labels = Int32Array.from({ length: 1000 }, (_, i) => (i * 7) % 10);

function assertExactCover(parts: number[][], n: number): void {
  const all = parts.flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i), 'every index exactly once');
}

const classesOf = (part: number[]) => new Set(part.map((i) => labels[i]!));

/** Share of a client's rows that belong to its most common class. */
function topShare(part: number[]): number {
  const c = new Array(10).fill(0);
  for (const i of part) c[labels[i]!]++;
  return Math.max(...c) / part.length;
}

test('IID: exact cover, near-equal sizes, seeded', () => {
  const p = partitionIid(1003, 4, 7);
  assertExactCover(p, 1003);
  assert.deepEqual(p.map((x) => x.length), [251, 251, 251, 250]);
  assert.deepEqual(partitionIid(1003, 4, 7), p);
  assert.notDeepEqual(partitionIid(1003, 4, 8), p);
});

test('by label: each client holds exactly labelsPerClient classes, exact cover', () => {
  for (const [k, L] of [[5, 2], [10, 2], [3, 4], [20, 1]] as const) {
    const p = partitionByLabel(labels, k, L, 3);
    assertExactCover(p, 1000);
    for (const part of p) assert.equal(classesOf(part).size, L, `k=${k} L=${L}`);
  }
  assert.deepEqual(partitionByLabel(labels, 5, 2, 3), partitionByLabel(labels, 5, 2, 3));
  assert.throws(() => partitionByLabel(labels, 3, 2, 0), OptionError); // 6 slots < 10 classes
  assert.throws(() => partitionByLabel(labels, 3, 11, 0), OptionError);
});

test('Dirichlet: exact cover; small alpha is skewed, large alpha near-IID', () => {
  const skewed = partitionDirichlet(labels, 10, 0.05, 11);
  const even = partitionDirichlet(labels, 10, 1000, 11);
  assertExactCover(skewed, 1000);
  assertExactCover(even, 1000);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const skewTop = mean(skewed.filter((p) => p.length > 0).map(topShare));
  const evenTop = mean(even.map(topShare));
  // IID would give about 0.1; over seeds 0..19 alpha 0.05 gives 0.61 to 0.78.
  assert.ok(skewTop > 0.5, `alpha 0.05: clients dominated by one class (mean top share ${skewTop})`);
  assert.ok(evenTop < 0.2, `alpha 1000: classes near-uniform per client (mean top share ${evenTop})`);
  for (const p of even) assert.ok(p.length > 80 && p.length < 120, `near-equal sizes, got ${p.length}`);
  assert.deepEqual(partitionDirichlet(labels, 10, 0.5, 2), partitionDirichlet(labels, 10, 0.5, 2));
  assert.throws(() => partitionDirichlet(labels, 10, 0, 2), OptionError);
  assert.throws(() => partitionDirichlet(labels, 10, NaN, 2), OptionError);
});

test('dirichlet draws sum to 1, stay finite for tiny alpha, and have mean 1/k', () => {
  const rng = mulberry32(4);
  const sums = new Array(4).fill(0);
  for (let t = 0; t < 4000; t++) {
    const p = dirichlet(4, 0.3, rng);
    assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    p.forEach((v, i) => (sums[i] += v));
  }
  for (const s of sums) assert.ok(Math.abs(s / 4000 - 0.25) < 0.03, `mean ${s / 4000}`);
  const tiny = dirichlet(5, 1e-4, rng); // Gamma draws underflow to 0 here; log space keeps this finite
  assert.ok(tiny.every(Number.isFinite));
  assert.ok(Math.abs(tiny.reduce((a, b) => a + b, 0) - 1) < 1e-12);
});
