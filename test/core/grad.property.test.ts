/**
 * Property suite for relational autodiff: random compositions of operators (einsum, broadcasting binary
 * ops, unary functions, reductions, softmax/logsumexp, transpose, slice, concat, reshape, reuse of a value
 * by several consumers) over randomly tiled float64 tensors. Every gradient must match central finite
 * differences to a relative error under 1e-6.
 */
import { test } from 'node:test';
import fc from 'fast-check';
import { randomData, rng, size } from '../helpers/dense.js';
import { randomProgram } from '../helpers/programs.js';
import { checkGrad } from '../helpers/grad_check.js';

export let gradCasesRun = 0;
export let worstGradError = 0;

test('autodiff of random operator compositions matches central finite differences (float64, rel err < 1e-6)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
    const prog = randomProgram(seed);
    const rand = rng(seed ^ 0x5bd1e995);
    const data = prog.shapes.map((s) => randomData(size(s), rand, -1.5, 1.5));
    const err = checkGrad((...ts) => prog.build(ts), prog.shapes, data, 1e-6, prog.tiles, `program ${prog.ops.join(' -> ')} (seed ${seed}): `);
    worstGradError = Math.max(worstGradError, err);
    gradCasesRun++;
  }), { numRuns: 600, seed: 777 });
  console.log(`gradient property cases run: ${gradCasesRun}, worst relative error vs finite differences: ${worstGradError.toExponential(2)}`);
});
