/**
 * The compiled training step against the eager path: CompiledModel (plan traced once, run on the
 * in-process executor with ort kernels) gives the loss and gradients of valueAndGradModule (reference
 * executor, float64) for an MLP and a small CNN, with label smoothing, frozen and masked parameters; the
 * plan is traced once per batch size however many steps run; predict matches the eager forward.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tensor } from '../../src/frontend/tensor.js';
import { CompiledModel, toFloat32 } from '../../src/nn/compiled.js';
import { crossEntropy } from '../../src/nn/functional.js';
import { Activation, Conv2d, Dropout, Flatten, Linear, MaxPool2d } from '../../src/nn/layers.js';
import { Sequential, type Module } from '../../src/nn/module.js';
import { valueAndGradModule } from '../../src/nn/train.js';
import { SGD } from '../../src/optim/optimizer.js';
import { rand, randArr } from './fd.js';
// After nn: kernels/conv.ts registers im2col, which the ort backend copies from the reference when it loads.
import { InprocExecutor } from '../../src/exec/inproc/index.js';

async function check(model: Module, exampleShape: number[], batch: number, smoothing: number, seed: number): Promise<void> {
  const r = rand(seed), row = exampleShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from(randArr(batch * row, r)), y = Int32Array.from({ length: batch }, (_, i) => (i * 7 + seed) % 10);
  toFloat32(model);
  const eager = valueAndGradModule(model, (p) => crossEntropy(model.forward(p, tensor(x, { shape: [batch, ...exampleShape], dtype: 'float64' })), [...y], { labelSmoothing: smoothing }), 'float64');
  const c = await new CompiledModel(model, { executor: new InprocExecutor({ sites: 1 }), exampleShape, classes: 10, labelSmoothing: smoothing }).step(x, y);
  {
    assert.ok(Math.abs(c.loss - eager.loss) < 1e-5 * Math.max(1, Math.abs(eager.loss)), `loss ${c.loss} vs ${eager.loss}`);
    assert.deepEqual(Object.keys(c.grads).sort(), Object.keys(eager.grads).sort());
    for (const [n, g] of Object.entries(eager.grads)) {
      const h = c.grads[n]!;
      let scale = 1e-6;
      for (let i = 0; i < g.length; i++) scale = Math.max(scale, Math.abs(g[i]!));
      for (let i = 0; i < g.length; i++) assert.ok(Math.abs(h[i]! - g[i]!) <= 1e-4 * scale, `${n}[${i}]: ${h[i]} vs ${g[i]}`);
    }
  }
}

test('compiled MLP step: loss and gradients equal the eager float64 ones (label smoothing, frozen, masked)', async () => {
  const mk = () => new Sequential(new Linear(12, 8, { seed: 2 }), new Activation('relu'), new Linear(8, 10, { seed: 3 }));
  await check(mk(), [12], 6, 0, 1);
  await check(mk(), [12], 6, 0.1, 2);
  const frozen = mk().freeze('0.bias');
  frozen.setMask('2.weight', Array.from({ length: 80 }, (_, i) => i % 3));
  await check(frozen, [12], 5, 0, 3);
});

test('compiled CNN step: loss and gradients equal the eager float64 ones', async () => {
  const cnn = new Sequential(new Conv2d(1, 2, 3, { seed: 4 }), new Activation('relu'), new MaxPool2d({ kernel: 2 }), new Flatten(), new Linear(2 * 3 * 3, 10, { seed: 5 }));
  await check(cnn, [1, 8, 8], 3, 0, 4);
});

test('the plan is traced once per batch size; steps train; predict equals the eager forward', async () => {
  const model = toFloat32(new Sequential(new Linear(4, 16, { seed: 1 }), new Activation('relu'), new Linear(16, 10, { seed: 2 })));
  const cm = new CompiledModel(model, { executor: new InprocExecutor({ sites: 1 }), exampleShape: [4], classes: 10 });
  const r = rand(9), x = Float32Array.from(randArr(32, r)), y = Int32Array.from({ length: 8 }, (_, i) => i % 10);
  const opt = new SGD(0.5);
  let first = 0, last = 0;
  for (let s = 0; s < 30; s++) {
    const out = await cm.step(x, y);
    if (s === 0) first = out.loss;
    last = out.loss;
    opt.step(model.parameters(), out.grads);
  }
  assert.equal(cm.traces, 1);
  assert.ok(last < first / 2, `loss ${first} -> ${last}`);
  await cm.step(x.subarray(0, 12), y.subarray(0, 3));
  assert.equal(cm.traces, 2);
  const logits = await cm.predict(x, 8);
  const eager = model.eval().forward(model.tensors('float64'), tensor(x, { shape: [8, 4], dtype: 'float64' })).dataSync();
  for (let i = 0; i < eager.length; i++) assert.ok(Math.abs(logits[i]! - eager[i]!) < 1e-4, `logit ${i}`);
  assert.equal(cm.traces, 3);
});

test('Dropout in a compiled step: a fresh mask each step (a plan input), the same masks and numbers as the eager path', async () => {
  const mk = () => new Sequential(new Linear(12, 16, { seed: 4 }), new Activation('relu'), new Dropout(0.5, 9), new Linear(16, 10, { seed: 5 }));
  const eagerModel = toFloat32(mk()), compiledModel = toFloat32(mk());
  const r = rand(11), x = Float32Array.from(randArr(8 * 12, r)), y = Int32Array.from({ length: 8 }, (_, i) => i % 10);
  const cm = new CompiledModel(compiledModel, { executor: new InprocExecutor({ sites: 1 }), exampleShape: [12], classes: 10 });
  const losses: number[] = [];
  for (let step = 0; step < 3; step++) {
    const eager = valueAndGradModule(eagerModel, (p) => crossEntropy(eagerModel.forward(p, tensor(x, { shape: [8, 12], dtype: 'float64' })), [...y]), 'float64');
    const c = await cm.step(x, y);
    assert.ok(Math.abs(c.loss - eager.loss) < 1e-5 * Math.max(1, Math.abs(eager.loss)), `step ${step}: loss ${c.loss} vs ${eager.loss}`);
    for (const [n, g] of Object.entries(eager.grads)) for (let i = 0; i < g.length; i++) assert.ok(Math.abs(c.grads[n]![i]! - g[i]!) <= 1e-4, `step ${step} ${n}[${i}]`);
    losses.push(c.loss);
  }
  assert.equal(cm.traces, 1, 'the plan was traced again');
  assert.ok(new Set(losses).size === 3, `the same batch gave losses ${losses}: the mask did not change between steps`);
});
