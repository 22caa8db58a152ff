/**
 * The one-graph path of the one-site executor (exec/inproc/graph.ts): random single-tile programs with
 * their gradients equal the reference interpreter; a model's training step gives what the step-by-step
 * path gives; plans it cannot take (several tiles) still run, step by step; a non-finite value is still
 * named at the operator that produced it.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { NonFiniteError } from '../../src/errors.js';
import { einsum, gradPlan, input, log, runSync, tensor, toPlan, type Relation } from '../../src/index.js';
import { InprocExecutor } from '../../src/exec/inproc/index.js';
import { optimize } from '../../src/plan/optimizer.js';
import { ORT_STATUS } from '../../src/kernels/ort/index.js';
import { buildModel, exampleShape } from '../../src/cli/models.js';
import { CompiledModel, toFloat32 } from '../../src/nn/compiled.js';
import { maxRelErr, randomData, rng, size } from '../helpers/dense.js';
import { randomProgram } from '../helpers/programs.js';

const skip = ORT_STATUS.ok ? undefined : `onnxruntime-node cannot load here: ${ORT_STATUS.reason}`;
const graph = new InprocExecutor({ sites: 1, backend: 'ort', graph: true });
const steps = new InprocExecutor({ sites: 1, backend: 'ort', graph: false });
after(() => Promise.all([graph.close(), steps.close()]));
const dense = (r: Relation) => r.toDense().data;

test('random single-tile programs: value and gradients through one graph equal the reference (float64)', { skip }, async () => {
  let viaGraph = 0, cases = 0;
  await fc.assert(fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 30 }), async (seed) => {
    const prog = randomProgram(seed);
    const r = rng(seed ^ 0x55);
    const data = prog.shapes.map((s) => randomData(size(s), r, -1.5, 1.5));
    const args = prog.shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64' })); // one tile each
    const plan = gradPlan((...ts) => prog.build(ts), args, args.map((_, i) => i));
    const binds = Object.fromEntries(data.map((d, i) => [`arg${i}`, { shape: prog.shapes[i]!, data: d }]));
    const want = runSync(plan, binds).map(dense);
    const got = (await graph.run(plan, binds)).map(dense);
    got.forEach((g, i) => assert.ok(maxRelErr(g, want[i]!) < 1e-9, `${prog.ops.join(' -> ')} output ${plan.names[i]}: ${maxRelErr(g, want[i]!)}`));
    if (graph.lastReport?.graph) viaGraph++;
    cases++;
  }), { numRuns: 60, seed: 777 });
  console.log(`graph path: ${viaGraph} of ${cases} random programs ran as one graph`);
  // Concats make several tiles and keep those programs step by step; most must take the graph.
  assert.ok(viaGraph >= cases / 2, `only ${viaGraph} of ${cases} programs took the graph path`);
});

test('the CNN training step through one graph equals the step-by-step path (float32)', { skip }, async () => {
  const run = async (ex: InprocExecutor) => {
    const cm = new CompiledModel(toFloat32(buildModel('cnn', 1)), { executor: ex, exampleShape: exampleShape('cnn'), classes: 10 });
    const x = Float32Array.from({ length: 16 * 784 }, (_, i) => ((i * 37) % 255) / 255), y = Array.from({ length: 16 }, (_, i) => i % 10);
    return cm.step(x, y);
  };
  const a = await run(graph), b = await run(steps);
  assert.deepEqual(graph.lastReport?.graph?.calls !== undefined, true, 'the CNN step did not take the graph path');
  assert.equal(steps.lastReport?.graph, undefined);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.abs(b.loss), `loss ${a.loss} vs ${b.loss}`);
  for (const [name, g] of Object.entries(b.grads)) assert.ok(maxRelErr(Array.from(a.grads[name]!), Array.from(g)) < 1e-3, `gradient ${name}`);
});

test('a plan with several tiles runs step by step, with the same numbers', { skip }, async () => {
  const A = input('A', [8, 6], { tile: [4, 6], dtype: 'float64' }), B = input('B', [6, 5], { dtype: 'float64' });
  const plan = toPlan(einsum('ik,kj->ij', A, B));
  const r = rng(3), binds = { A: { shape: [8, 6], data: randomData(48, r) }, B: { shape: [6, 5], data: randomData(30, r) } };
  // (With the tile pass on, one site re-tiles this to one tile, and it takes the graph.)
  const got = dense((await graph.runIA(optimize(plan, { sites: 1, disable: ['tileSizes'] }), binds))[0]!);
  assert.equal(graph.lastReport?.graph, undefined);
  assert.ok(maxRelErr(got, dense(runSync(plan, binds)[0]!)) < 1e-12);
});

test('a non-finite value is still named at its operator (the graph run is redone step by step)', { skip }, async () => {
  const x = input('x', [3], { dtype: 'float64' });
  const plan = toPlan(log(x));
  await assert.rejects(graph.run(plan, { x: { shape: [3], data: [1, -2, 3] } }), (e: unknown) => e instanceof NonFiniteError && /log|map/.test(e.message));
  const ok = await graph.run(plan, { x: { shape: [3], data: [1, 2, 3] } });
  assert.equal(graph.lastReport?.graph?.calls, 1);
  assert.ok(maxRelErr(dense(ok[0]!), [0, Math.log(2), Math.log(3)]) < 1e-15);
});
