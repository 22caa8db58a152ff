/**
 * Property suite: random einsum specs (explicit/implicit output, ellipsis, repeated indices, size-1
 * broadcasting, 1-4 operands), random shapes and random tilings; the relational result must equal the
 * brute-force float64 reference, and a plan serialised to JSON and read back must give the same result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { einsum, Plan, runSync, tensor, toPlan } from '../../src/index.js';
import { denseEinsum, maxRelErr, randomData, randomTiling, rng, size } from '../helpers/dense.js';
import { einsumCaseArb } from '../helpers/einsum_cases.js';

export let einsumCasesRun = 0;

test('random einsums on random tilings equal the float64 reference (and survive a JSON round trip)', () => {
  fc.assert(fc.property(einsumCaseArb, (c) => {
    const r = rng(c.seed ^ 0x9e3779b9);
    const data = c.shapes.map((s) => randomData(size(s), r));
    const ts = c.shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: randomTiling(s, r) }));
    const out = einsum(c.spec, ...ts);
    const want = denseEinsum(c, data);
    assert.deepEqual(out.shape, c.output.map((l) => Math.max(...c.letters.flatMap((ls, i) => ls.map((x, d) => (x === l ? c.shapes[i]![d]! : 1))))), `shape of ${c.spec}`);
    const got = out.dataSync();
    assert.ok(maxRelErr(got, want) < 1e-12, `${c.spec} shapes ${JSON.stringify(c.shapes)}: max rel err ${maxRelErr(got, want)}`);
    const again = Plan.fromJSON(JSON.parse(JSON.stringify(toPlan(out).toJSON())));
    assert.ok(maxRelErr(runSync(again, {})[0]!.toDense().data, want) < 1e-12, `${c.spec}: round-tripped plan differs`);
    einsumCasesRun++;
  }), { numRuns: 1500, seed: 20261129 });
  console.log(`einsum property cases run: ${einsumCasesRun}`);
});
