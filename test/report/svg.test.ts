import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confusionMatrixSvg, lineChart, niceTicks } from '../../src/report/svg.js';
import { OptionError } from '../../src/errors.js';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

/** Cheap well-formedness check: every element opened is closed in order (no XML parser in node:). */
function assertBalanced(svg: string): void {
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    if (m[1]) assert.equal(stack.pop(), m[2], `unbalanced </${m[2]}>`);
    else if (!m[3]) stack.push(m[2]!);
  }
  assert.deepEqual(stack, []);
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/);
}

test('line chart: one polyline per series with all its points, ticks, legend, escaped text', () => {
  const svg = lineChart({
    title: 'Loss <train & test>',
    xLabel: 'epoch',
    yLabel: 'loss',
    series: [
      { name: 'train', points: [[0, 2.3], [1, 1.1], [2, 0.6], [3, 0.4]] },
      { name: 'test', points: [[0, 2.4], [1, 1.3], [2, 0.9], [3, 0.8]] },
      { name: 'final', points: [[3, 0.5]] },
    ],
  });
  assertBalanced(svg);
  assert.equal(count(svg, /<polyline /g), 3);
  const pts = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').length);
  assert.deepEqual(pts, [4, 4, 1]);
  assert.equal(count(svg, /<circle /g), 1, 'single-point series gets a dot');
  assert.match(svg, /Loss &lt;train &amp; test&gt;/);
  for (const name of ['train', 'test', 'final']) assert.match(svg, new RegExp(`class="legend"[^>]*>${name}<`));
  const ticks = [...svg.matchAll(/class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]);
  // x spans 0..3: step 1 (3/5 rounded up to 1, 2, 5 x 10^k); y spans 0.4..2.4: step 0.5, widened to 0..2.5.
  assert.deepEqual(ticks.slice(0, 4), ['0', '1', '2', '3']);
  assert.deepEqual(ticks.slice(4), ['0.0', '0.5', '1.0', '1.5', '2.0', '2.5']);
  // The first train point has x = 0, the lowest x tick: the left edge of the plot area (x = 70).
  const first = svg.match(/<polyline [^>]*points="([\d.]+),([\d.]+)/)!;
  assert.equal(Number(first[1]), 70);
});

test('niceTicks: round steps covering the range, flat ranges widened', () => {
  assert.deepEqual(niceTicks(0, 10).ticks, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.13, 0.87).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.13, 0.87, 10).ticks, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  assert.deepEqual(niceTicks(5, 5).ticks, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]); // widened to 4.5..5.5
  assert.deepEqual(niceTicks(0, 0).ticks, [-1, -0.5, 0, 0.5, 1]);
  assert.deepEqual(niceTicks(-250, 1000).ticks, [-500, 0, 500, 1000]);
});

test('line chart refuses NaN, empty series and empty input with OptionError naming the point', () => {
  const base = { title: 't', xLabel: 'x', yLabel: 'y' };
  assert.throws(() => lineChart({ ...base, series: [] }), (e: unknown) => e instanceof OptionError && /at least one series/.test((e as Error).message));
  assert.throws(() => lineChart({ ...base, series: [{ name: 'a', points: [] }] }), /series 'a' has no points/);
  assert.throws(() => lineChart({ ...base, series: [{ name: 'a', points: [[0, 1], [1, NaN]] }] }),
    (e: unknown) => e instanceof OptionError && /series\[0\]\.points\[1\]/.test((e as Error).message) && /finite/.test((e as Error).message));
  assert.throws(() => lineChart({ ...base, series: [{ name: 'a', points: [[Infinity, 1]] }] }), OptionError);
});

test('confusion matrix: n*n cells, counts in cells, darkest cell is the max, labels on both axes', () => {
  const m = [[50, 2, 0], [3, 40, 7], [0, 5, 45]];
  const svg = confusionMatrixSvg(m, ['cat', 'dog', 'A&B'], 'Confusion');
  assertBalanced(svg);
  assert.equal(count(svg, /class="cell"/g), 9);
  const counts = [...svg.matchAll(/class="count"[^>]*>([^<]*)</g)].map((x) => Number(x[1]));
  assert.deepEqual(counts, m.flat());
  const fills = [...svg.matchAll(/class="cell"[^>]*fill="rgb\((\d+),(\d+),(\d+)\)"/g)].map((x) => Number(x[1]));
  assert.equal(fills[0], Math.min(...fills)); // 50 is the max: the darkest red channel
  assert.equal(fills[2], 255); // a zero cell is white
  assert.equal(count(svg, /A&amp;B/g), 2);
  assert.match(svg, />Predicted</);
  assert.match(svg, />True</);
  const norm = confusionMatrixSvg([[0.75, 0.25], [0, 1]], ['a', 'b'], 'normalized');
  assert.deepEqual([...norm.matchAll(/class="count"[^>]*>([^<]*)</g)].map((x) => x[1]), ['0.75', '0.25', '0', '1']);
});

test('confusion matrix refuses bad input with OptionError', () => {
  assert.throws(() => confusionMatrixSvg([], [], 't'), OptionError);
  assert.throws(() => confusionMatrixSvg([[1, 2]], ['a'], 't'), /matrix\[0\]: expected 1 columns, got 2/);
  assert.throws(() => confusionMatrixSvg([[1, 2], [3, 4]], ['a', 'b', 'c'], 't'), /expected 3 rows/);
  assert.throws(() => confusionMatrixSvg([[1, NaN], [3, 4]], ['a', 'b'], 't'), /matrix\[0\]\[1\].*got NaN/);
  assert.throws(() => confusionMatrixSvg([[1, -1], [3, 4]], ['a', 'b'], 't'), OptionError);
});
