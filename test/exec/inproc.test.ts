/**
 * The in-process executor against the reference: the core's random einsum cases and random
 * differentiable programs (value and gradients), on 1, 2 and 3 sites with random placements; measured
 * exchange bytes equal the optimizer's prediction; failures in a site surface and leave no threads behind.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { einsum, gradPlan, input, Plan, runSync, tensor, toPlan, sum, tanh, type Relation } from '../../src/index.js';
import { InprocExecutor, SiteError } from '../../src/exec/inproc/index.js';
import { optimize, PASSES, type PassName } from '../../src/plan/optimizer.js';
import { maxRelErr, randomData, randomTiling, rng, size } from '../helpers/dense.js';
import { einsumCaseArb } from '../helpers/einsum_cases.js';
import { randomProgram } from '../helpers/programs.js';

const executors = [1, 2, 3].map((sites) => new InprocExecutor({ sites, backend: 'reference' }));
after(() => Promise.all(executors.map((e) => e.close())));

const dense = (r: Relation) => r.toDense().data;

test('random einsums on 1, 2 and 3 sites with random placements equal the reference', async () => {
  let cases = 0;
  await fc.assert(fc.asyncProperty(einsumCaseArb, async (c) => {
    const r = rng(c.seed ^ 0x1234);
    const ins = c.shapes.map((s, i) => input(`x${i}`, s, { dtype: 'float64', tile: randomTiling(s, r) }));
    const plan = toPlan(einsum(c.spec, ...ins));
    const binds = Object.fromEntries(c.shapes.map((s, i) => [`x${i}`, { shape: s, data: randomData(size(s), r) }]));
    const want = dense(runSync(plan, binds)[0]!);
    for (const ex of executors) {
      const ia = optimize(plan, { sites: ex.sites, random: rng(c.seed + ex.sites) });
      const got = dense((await ex.runIA(ia, binds))[0]!);
      assert.ok(maxRelErr(got, want) < 1e-12, `${c.spec} on ${ex.sites} sites: max rel err ${maxRelErr(got, want)}`);
      const report = ex.lastReport!;
      for (const e of report.exchanges) assert.equal(e.measured, e.predicted, `${c.spec} step @${e.step} (${e.kind}) moved ${e.measured}, predicted ${e.predicted}`);
    }
    cases++;
  }), { numRuns: 150, seed: 99 });
  console.log(`inproc einsum cases: ${cases} x 3 site counts`);
});

test('random programs: value and gradients on 1, 2 and 3 sites with random placements equal the reference', async () => {
  let cases = 0;
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), async (seed) => {
    const prog = randomProgram(seed);
    const r = rng(seed ^ 0x77);
    const data = prog.shapes.map((s) => randomData(size(s), r, -1.5, 1.5));
    const args = prog.shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: prog.tiles[i] }));
    const plan = gradPlan((...ts) => prog.build(ts), args, args.map((_, i) => i));
    const binds = Object.fromEntries(data.map((d, i) => [`arg${i}`, { shape: prog.shapes[i]!, data: d }]));
    const want = runSync(plan, binds).map(dense);
    for (const ex of executors) {
      const ia = optimize(plan, { sites: ex.sites, random: rng(seed + 7 * ex.sites) });
      const got = (await ex.runIA(ia, binds)).map(dense);
      got.forEach((g, i) => assert.ok(maxRelErr(g, want[i]!) < 1e-9, `${prog.ops.join(' -> ')} output ${plan.names[i]} on ${ex.sites} sites`));
      for (const e of ex.lastReport!.exchanges) assert.equal(e.measured, e.predicted, `step @${e.step} (${e.kind})`);
    }
    cases++;
  }), { numRuns: 80, seed: 4242 });
  console.log(`inproc gradient programs: ${cases} x 3 site counts`);
});

test('the optimizer\'s own (cheapest) plans give the reference numbers, with every pass on or off', async () => {
  const A = input('A', [96, 64], { tile: [16, 16] }), B = input('B', [64, 48], { tile: [16, 16] }), D = input('D', [48, 8], { tile: [16, 8] });
  // A repeated subexpression (cse), a chain to re-associate, tiles to choose, joins to place, sums to split.
  const plan = toPlan({ C: einsum('ik,kj->ij', A, B), s: sum(tanh(einsum('ik,kj->ij', A, B))), E: einsum('ij,jk->ik', einsum('ik,kj->ij', A, B), D) });
  const r = rng(1);
  const binds = { A: { shape: [96, 64], data: randomData(96 * 64, r) }, B: { shape: [64, 48], data: randomData(64 * 48, r) }, D: { shape: [48, 8], data: randomData(48 * 8, r) } };
  const want = runSync(plan, binds, { precision: 'float64' }).map(dense);
  const settings: (readonly PassName[])[] = [[], ...PASSES.map((p) => [p]), PASSES];
  for (const disable of settings) {
    for (const ex of executors) {
      const got = (await ex.runIA(optimize(plan, { sites: ex.sites, disable }), binds, { precision: 'float64' })).map(dense);
      got.forEach((g, i) => assert.ok(maxRelErr(g, want[i]!) < 1e-12, `passes off [${disable}] on ${ex.sites} sites`));
    }
  }
});

test('a site that throws or dies fails the run naming the step, operator and site; the executor recovers', async () => {
  const ex = new InprocExecutor({ sites: 2, backend: 'reference' });
  try {
    const A = input('A', [32, 32], { tile: [8, 8] });
    const plan = toPlan(einsum('ik,kj->ij', A, A));
    const binds = { A: { shape: [32, 32], data: randomData(1024, rng(3)) } };
    const ia = ex.physical(plan);
    const join = ia.steps.find((s) => s.node.op === 'join')!;
    await assert.rejects(ex.runIA(ia, binds, { fault: { site: 1, step: join.id, kind: 'throw' } }),
      (e: unknown) => e instanceof SiteError && e.site === 1 && e.step === join.id && /join/.test(e.op) && /injected fault/.test(e.message));
    await assert.rejects(ex.runIA(ia, binds, { fault: { site: 0, step: join.id, kind: 'exit' } }),
      (e: unknown) => e instanceof SiteError && e.site === 0 && e.step === join.id && /join/.test(e.op) && /worker exited with code 3/.test(e.message));
    // Fresh workers serve the next run.
    const got = dense((await ex.run(plan, binds))[0]!), want = dense(runSync(plan, binds)[0]!);
    assert.ok(maxRelErr(got, want) < 1e-5);
  } finally { await ex.close(); }
});

test('NaN in a bound input is refused before any site runs', async () => {
  const ex = executors[1]!;
  const plan = new Plan([einsum('i,i->', input('v', [4]), input('v', [4])).node]);
  await assert.rejects(ex.run(plan, { v: { shape: [4], data: [1, NaN, 2, 3] } }), /input 'v': NaN at key \(0\), element 1/);
});

test('a kernel that leaves its domain (log of a negative) is named where it happens, on one site and on two', async () => {
  const { log, add } = await import('../../src/index.js');
  const x = input('x', [4, 4], { tile: [2, 2] });
  const plan = new Plan([sum(add(log(x), 1)).node]);
  const data = Array.from({ length: 16 }, (_, i) => (i === 9 ? -1 : i + 1));
  for (const ex of [executors[0]!, executors[1]!]) {
    await assert.rejects(ex.run(plan, { x: { shape: [4, 4], data } }), (e: unknown) => {
      const err = e as { code?: string; message: string };
      return (err.code === 'NON_FINITE' || err.code === 'SITE') && /map log/.test(err.message) && /NaN at key \(\d+,\d+\), element \d+/.test(err.message);
    });
  }
});
