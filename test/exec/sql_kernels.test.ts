/**
 * Every kernel of src/kernels/defs.ts, with its attribute variants, as a map or join on small tiled
 * relations (ragged edge tiles included), on DuckDB (scalar and list products) and PostgreSQL against the
 * reference executor (float64, 1e-9). The random einsum and gradient suites exercise kernels only as the
 * front end happens to emit them; this suite names each one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Plan, Relation, runSync, tra, type KernelCall } from '../../src/index.js';
import { BINARY_FNS, UNARY_FNS } from '../../src/kernels/fns.js';
import { duckdbExecutor, type SqlExecutor } from '../../src/exec/sql/index.js';
import type { Node } from '../../src/tra/node.js';
import { denseSchema } from '../../src/tra/schema.js';
import { rng } from '../helpers/dense.js';
import { assertSameRelation, ENGINES, openEngine } from '../helpers/sql.js';

const r = rng(1234);
/** A dense tensor relation of `shape` tiled by `tile`, values in [lo, hi). */
function rel(name: string, shape: number[], tile: number[], lo = 0.5, hi = 1.5): Relation {
  const n = shape.reduce((a, b) => a * b, 1);
  return Relation.fromDense(Float64Array.from({ length: n }, () => lo + (hi - lo) * r()), shape, { tile, dtype: 'float64', name });
}
const inp = (name: string, x: Relation): Node => tra.input(name, x.schema);

// x: 5x3 in tiles of 2x3 (keys [3,1], last tile ragged); y like x; q: square 3x3 tiles; v: vector along x's columns.
const X = rel('x', [5, 3], [2, 3]), Y = rel('y', [5, 3], [2, 3]), Q = rel('q', [3, 3], [3, 3], -1, 1), V = rel('v', [3], [3]);
// y equals x in some entries (eq, max/min ties).
for (const t of Y.tuples()) { const xt = X.get(t.key)!; for (let i = 0; i < t.tile.data.length; i += 2) (t.tile.data as Float64Array)[i] = xt.data[i]!; }
const G1 = rel('g1', [5], [2], -1, 1), G2 = rel('g2', [5, 3], [2, 3], -1, 1), G3 = rel('g3', [3], [3], -1, 1);
const bindings = { x: X, y: Y, q: Q, v: V, g1: G1, g2: G2, g3: G3 };
const [x, y, q, v, g1, g2, g3] = (['x', 'y', 'q', 'v', 'g1', 'g2', 'g3'] as const).map((n) => inp(n, bindings[n]));

const k = (name: string, attrs: Record<string, unknown> = {}): KernelCall => ({ name, attrs });
const cases: [string, Node][] = [];
const map = (call: KernelCall, src = x!) => cases.push([`map ${call.name} ${JSON.stringify(call.attrs)}`, tra.map(src, call)]);
const join = (call: KernelCall, a: Node, b: Node, on: [number, number][]) => cases.push([`join ${call.name} ${JSON.stringify(call.attrs)}`, tra.join(a, b, on, call)]);

for (const fn of UNARY_FNS) map(k('unary', { fn, alpha: 0.7 }));
for (const spec of ['ab->ba', 'ab->a', 'ab->b', 'ab->', 'ab->ab']) map(k('einsum', { spec }));
map(k('einsum', { spec: 'aa->a' }), q); map(k('einsum', { spec: 'aa->' }), q);
for (const fn of ['sum', 'max', 'min']) for (const axes of [[0], [1], [0, 1]]) map(k('reduce', { fn, axes }));
for (const axis of [0, 1]) { map(k('softmax', { axis })); map(k('logsumexp', { axis })); }
map(k('reshape', { shape: [3, 3] }), q); map(k('reshape', { shape: [9] }), q);
for (const axis of [0, 1, 2]) map(k('expandDims', { axis }));
const same: [number, number][] = [[0, 0], [1, 1]];
for (const fn of BINARY_FNS) {
  join(k('binary', { fn, a: [0, 1], b: [0, 1] }), x!, y!, same);
  for (const wrt of [0, 1]) join(k('binaryPartial', { fn, wrt, a: [0, 1], b: [0, 1] }), x!, y!, same);
}
join(k('binary', { fn: 'add', a: [0, 1], b: [1] }), x!, v!, [[1, 0]]);          // broadcast along rows
join(k('binary', { fn: 'mul', a: [1], b: [0, 1] }), v!, x!, [[0, 1]]);          // broadcast, operands swapped
join(k('binaryPartial', { fn: 'div', wrt: 1, a: [0, 1], b: [1] }), x!, v!, [[1, 0]]);
for (const fn of UNARY_FNS) join(k('unaryGrad', { fn, alpha: 0.7 }), x!, g2!, same);
join(k('einsum', { spec: 'ab,cb->ac' }), x!, q!, [[1, 1]]);
join(k('einsum', { spec: 'ab,b->a' }), x!, v!, [[1, 0]]);
join(k('einsum', { spec: 'ab,ab->ab' }), x!, y!, same);
join(k('einsum', { spec: 'ab,cd->abcd' }), x!, q!, []);
join(k('einsumGrad', { spec: 'ab->a' }), x!, g1!, [[0, 0]]);
join(k('einsumGrad', { spec: 'ab->ba' }), x!, tra.rekey(tra.map(g2!, k('einsum', { spec: 'ab->ba' })), [1, 0]), [[0, 1], [1, 0]]);
join(k('einsumGrad', { spec: 'aa->a' }), q!, g3!, [[0, 0]]);
for (const axis of [0, 1]) join(k('softmaxGrad', { axis }), x!, g2!, same);
join(k('logsumexpGrad', { axis: 1 }), x!, g1!, [[0, 0]]);
join(k('logsumexpGrad', { axis: 0 }), q!, g3!, [[1, 0]]);
for (const fn of ['sum', 'max', 'min']) join(k('reduceGrad', { fn, axes: [1] }), x!, g1!, [[0, 0]]);
join(k('reduceGrad', { fn: 'max', axes: [0, 1] }), q!, tra.map(tra.map(q!, k('reduce', { fn: 'sum', axes: [0, 1] })), k('unary', { fn: 'neg' })), [[0, 0], [1, 1]]);
join(k('reshapeGrad'), q!, tra.map(q!, k('reshape', { shape: [9] })), [[0, 0], [1, 1]]);
join(k('second'), x!, g2!, same);

const DEFS_KERNELS = ['einsum', 'unary', 'binary', 'reduce', 'softmax', 'logsumexp', 'reshape', 'unaryGrad', 'einsumGrad', 'softmaxGrad',
  'logsumexpGrad', 'reduceGrad', 'reshapeGrad', 'binaryPartial', 'second', 'expandDims'];

test('the kernel cases cover every kernel defined in src/kernels/defs.ts', () => {
  const covered = new Set(cases.map(([name]) => name.split(' ')[1]));
  for (const name of DEFS_KERNELS) assert.ok(covered.has(name), `kernel ${name} has no SQL case`);
});

for (const engine of [...ENGINES, 'duckdb-lists'] as const) {
  describe(`every kernel on ${engine}`, () => {
    let ex: SqlExecutor | undefined, skip: string | undefined;
    before(async () => {
      const got = engine === 'duckdb-lists' ? await duckdbExecutor({ listDotMin: 1 }) : await openEngine(engine);
      if (typeof got === 'string') { skip = got; console.log(`SKIP ${engine}: ${got}`); } else ex = got;
    });
    after(async () => { await ex?.close(); });
    test(`${cases.length} kernel cases equal the reference executor (float64, 1e-9)`, async (t) => {
      if (skip) { t.skip(skip); return; }
      const plan = new Plan(cases.map(([, n]) => n), cases.map(([name]) => name));
      const want = runSync(plan, bindings, { precision: 'float64' });
      const got = await ex!.run(plan, bindings, { precision: 'float64' });
      want.forEach((w, j) => assertSameRelation(got[j]!, w, `${engine}: ${cases[j]![0]}`));
    });
  });
}
