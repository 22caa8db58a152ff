/**
 * Property suite for relational autodiff: random compositions of operators (einsum, broadcasting binary
 * ops, unary functions, reductions, softmax/logsumexp, transpose, slice, concat, reshape, reuse of a value
 * by several consumers) over randomly tiled float64 tensors. Every gradient must match central finite
 * differences to a relative error under 1e-6.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as r from '../../src/index.js';
import { gradPlan, Plan, runSync } from '../../src/index.js';
import { randomData, rng, size } from '../helpers/dense.js';
import { randomProgram } from '../helpers/programs.js';

export let gradCasesRun = 0;
export let worstGradError = 0;

test('autodiff of random operator compositions matches central finite differences (float64, rel err < 1e-6)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
    const prog = randomProgram(seed);
    const rand = rng(seed ^ 0x5bd1e995);
    const data = prog.shapes.map((s) => randomData(size(s), rand, -1.5, 1.5));
    const args = prog.shapes.map((s, i) => r.tensor(data[i]!, { shape: s, dtype: 'float64', tile: prog.tiles[i] }));
    const plan = gradPlan((...ts) => prog.build(ts), args, args.map((_, i) => i));
    const bind = (ds: Float64Array[]) => Object.fromEntries(ds.map((d, i) => [`arg${i}`, { shape: prog.shapes[i]!, data: d }]));
    const [, ...grads] = runSync(plan, bind(data));
    const valuePlan = new Plan([plan.outputs[0]!]);
    const f = (ds: Float64Array[]) => runSync(valuePlan, bind(ds))[0]!.toDense().data[0]!;
    const h = 1e-5;
    grads.forEach((g, i) => {
      const auto = g!.toDense().data;
      for (let k = 0; k < data[i]!.length; k++) {
        const plus = data.map((d) => d.slice()), minus = data.map((d) => d.slice());
        plus[i]![k]! += h; minus[i]![k]! -= h;
        const fd = (f(plus) - f(minus)) / (2 * h);
        const err = Math.abs(auto[k]! - fd) / Math.max(1, Math.abs(fd));
        worstGradError = Math.max(worstGradError, err);
        assert.ok(err < 1e-6, `program ${prog.ops.join(' -> ')} (seed ${seed}): d/darg${i}[${k}] autodiff ${auto[k]} vs finite difference ${fd}`);
      }
    });
    gradCasesRun++;
  }), { numRuns: 600, seed: 777 });
  console.log(`gradient property cases run: ${gradCasesRun}, worst relative error vs finite differences: ${worstGradError.toExponential(2)}`);
});
