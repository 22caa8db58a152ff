/**
 * Optimizer tests in the style of EXPLAIN tests: textbook cases state the physical plan they expect.
 * Each step is summarised as `op[placement]` (exchanges by kind) in step order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { einsum, input, PlanError, runSync, sum, toPlan, type Plan } from '../../src/index.js';
import { explainIA, type IAPlan } from '../../src/plan/ia.js';
import { optimize } from '../../src/plan/optimizer.js';
import { placementString } from '../../src/plan/placement.js';
import { reassociate } from '../../src/plan/reassociate.js';
import { maxRelErr, randomData, rng } from '../helpers/dense.js';

/** Placement tests state their tiling, so the tile-size pass is off for them (it has its own test). */
const AT_TILING = { disable: ['tileSizes'] as const };

const summary = (ia: IAPlan) => ia.steps.map((s) =>
  `${s.kind === 'exchange' ? s.exchange : `${s.partial ? 'partial ' : ''}${s.node.op}${s.node.op === 'input' ? ` ${String(s.node.attrs.name)}` : ''}`}[${placementString(s.placement)}]`).join(' | ');

test('a matmul with one huge operand keeps the huge one partitioned and broadcasts the small one', () => {
  const X = input('X', [65536, 64], { tile: [4096, 64] }), W = input('W', [64, 64]);
  const ia = optimize(toPlan(einsum('ik,kj->ij', X, W)), { sites: 2, ...AT_TILING });
  assert.equal(summary(ia), 'input X[part(0)] | input W[single] | broadcast[repl] | join[part(0)] | aggregate[part(0)]');
  const moved = ia.steps.filter((s) => s.kind === 'exchange').reduce((t, s) => t + s.cost.bytes, 0);
  assert.equal(moved, 64 * 64 * 4, 'only W (16 KiB) crosses sites');
});

test('a square matmul on 2 sites partitions on the output, with no exchange of the product', () => {
  const A = input('A', [1024, 1024], { tile: [256, 256] }), B = input('B', [1024, 1024], { tile: [256, 256] });
  const ia = optimize(toPlan(einsum('ik,kj->ij', A, B)), { sites: 2, ...AT_TILING });
  const out = ia.outputs[0]!;
  assert.equal(out.kind, 'local');
  assert.equal(out.placement.kind, 'partitioned');
  assert.match(summary(ia), /join\[part\(0\)\] \| aggregate\[part\(0\)\]$/);
  assert.ok(!ia.steps.some((s) => s.kind === 'exchange' && s.node.op !== 'input'), explainIA(ia));
});

test('a global sum aggregates partials on each site and gathers only the partials', () => {
  const A = input('A', [512, 512], { tile: [128, 128] });
  const ia = optimize(toPlan(sum(A)), { sites: 2, ...AT_TILING });
  assert.match(summary(ia), /partial aggregate\[scattered\] \| gather\[single\] \| aggregate\[single\]$/);
  const gather = ia.steps.find((s) => s.exchange === 'gather')!;
  assert.equal(gather.cost.bytes, 4, 'one partial scalar moves');
});

test('a chain is re-associated: (A·B)·C with a thin inner dimension becomes A·(B·C)', () => {
  const A = input('A', [4096, 64], { tile: [1024, 64] }), B = input('B', [64, 4096], { tile: [64, 1024] }), C = input('C', [4096, 64], { tile: [1024, 64] });
  const naive = toPlan({ D: einsum('ij,jk->ik', einsum('ij,jk->ik', A, B), C) });
  const flops = (ia: IAPlan) => ia.steps.reduce((t, s) => t + s.cost.flops, 0);
  const before = optimize(naive, { sites: 1, disable: ['reassociate'] }), after = optimize(naive, { sites: 1 });
  assert.ok(flops(after) * 30 < flops(before), `flops ${flops(before)} -> ${flops(after)}`);
  // B and C meet first: the first join reads inputs B and C.
  const firstJoin = reassociate(naive).nodes().find((n) => n.op === 'join')!;
  assert.deepEqual(firstJoin.inputs.map((x) => x.attrs.name).sort(), ['B', 'C']);
  assert.match(after.passes.join(','), /reassociate/);
});

test('re-association keeps the numbers (small chains of 3 and 4 operands, mixed tilings)', () => {
  const r = rng(11);
  const shapes = [[6, 2], [2, 7], [7, 3], [3, 5]];
  const ins = shapes.map((s, i) => input(`M${i}`, s, { dtype: 'float64', tile: s.map((n) => Math.max(1, Math.ceil(n / 2))) }));
  const binds = Object.fromEntries(shapes.map((s, i) => [`M${i}`, { shape: s, data: randomData(s[0]! * s[1]!, r) }]));
  const plans: Plan[] = [
    toPlan(einsum('ij,jk->ik', einsum('ij,jk->ik', ins[0]!, ins[1]!), ins[2]!)),
    toPlan(einsum('ij,jk->ik', einsum('ij,jk->ik', einsum('ij,jk->ik', ins[0]!, ins[1]!), ins[2]!), ins[3]!)),
  ];
  for (const p of plans) {
    const q = reassociate(p);
    assert.notEqual(q, p, 'the plan was rewritten');
    assert.ok(maxRelErr(runSync(q, binds)[0]!.toDense().data, runSync(p, binds)[0]!.toDense().data) < 1e-12);
  }
});

test('a plan that cannot fit the memory budget fails before running, naming the operator and bytes', () => {
  const A = input('A', [1024, 1024], { tile: [256, 256] }), B = input('B', [1024, 1024], { tile: [256, 256] });
  assert.throws(() => optimize(toPlan(einsum('ik,kj->ij', A, B)), { sites: 2, memoryBudget: 1_000_000 }),
    (e: unknown) => e instanceof PlanError && /memory budget of 1000000 bytes per site/.test(e.message) && /input 'A' \(keys\[4,4\] .*\) needs 4194304 bytes on a site/.test(e.message));
});

test('explain shows placements, exchanges and predicted flops, bytes and memory per site', () => {
  const A = input('A', [256, 256], { tile: [64, 64] });
  const text = explainIA(optimize(toPlan(einsum('ik,kj->ij', A, A)), { sites: 2 }));
  assert.match(text, /^IA plan on 2 site\(s\); passes: cse, reassociate, tileSizes, placement, broadcastJoins, twoPhaseAggregation/);
  assert.match(text, /flops\/site [\d.]+[kMG]?/);
  assert.match(text, /predicted: flops [\d.]+[kMG]?, bytes moved [\d.]+[kMG]?B, bytes loaded [\d.]+[kMG]?B, peak memory\/site/);
});

test('the tile-size pass splits single-tile inputs so 2 sites can share a matmul, and leaves 1 site alone', async () => {
  const { InprocExecutor } = await import('../../src/exec/inproc/index.js');
  const { Relation } = await import('../../src/index.js');
  const plan = toPlan(einsum('ik,kj->ij', input('A', [256, 128]), input('B', [128, 64])));
  const two = optimize(plan, { sites: 2 }), one = optimize(plan, { sites: 1 });
  const inputTiles = (ia: IAPlan) => ia.steps.filter((s) => s.node.op === 'input').map((s) => `${String(s.node.attrs.name)}:${s.node.schema.keys.join('x')}`).sort();
  assert.deepEqual(inputTiles(one), ['A:1x1', 'B:1x1']);
  assert.ok(two.steps.some((s) => s.node.op === 'join' && s.placement.kind === 'partitioned'), explainIA(two));
  assert.ok(inputTiles(two).some((t) => t !== 'A:1x1' && t !== 'B:1x1'), `inputs re-tiled: ${inputTiles(two)}`);
  // Same numbers, with dense data or with relations under the original tiling bound.
  const r = rng(5);
  const a = randomData(256 * 128, r), b = randomData(128 * 64, r);
  const want = runSync(plan, { A: { shape: [256, 128], data: a }, B: { shape: [128, 64], data: b } }, { precision: 'float64' })[0]!.toDense().data;
  const ex = new InprocExecutor({ sites: 2, backend: 'reference' });
  try {
    const got = (await ex.run(plan, { A: Relation.fromDense(a, [256, 128], { dtype: 'float64' }), B: { shape: [128, 64], data: b } }, { precision: 'float64' }))[0]!.toDense().data;
    assert.ok(maxRelErr(got, want) < 1e-12);
  } finally { await ex.close(); }
});

test('common subexpressions are computed once: the same einsum written twice is one join', async () => {
  const A = input('A', [64, 64], { tile: [32, 32] }), B = input('B', [64, 64], { tile: [32, 32] });
  const plan = toPlan({ C: einsum('ik,kj->ij', A, B), s: sum(einsum('ik,kj->ij', A, B)) });
  const joins = (ia: IAPlan) => ia.steps.filter((st) => st.node.op === 'join').length;
  assert.equal(joins(optimize(plan, { sites: 1, disable: ['cse'] })), 2);
  assert.equal(joins(optimize(plan, { sites: 1 })), 1);
  const r = rng(2);
  const binds = { A: { shape: [64, 64], data: randomData(4096, r) }, B: { shape: [64, 64], data: randomData(4096, r) } };
  const { InprocExecutor } = await import('../../src/exec/inproc/index.js');
  const ex = new InprocExecutor({ sites: 1, backend: 'reference' });
  const want = runSync(plan, binds).map((x) => x.toDense().data);
  const got = (await ex.run(plan, binds)).map((x) => x.toDense().data);
  got.forEach((g, i) => assert.ok(maxRelErr(g, want[i]!) < 1e-6));
});
