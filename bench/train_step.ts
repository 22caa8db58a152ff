/** Quick per-step timing of the compiled training step: node dist/bench/train_step.js [mlp|cnn] [steps] */
import { InprocExecutor } from '../src/exec/inproc/index.js';
import { CompiledModel, toFloat32 } from '../src/nn/compiled.js';
import { Activation, Conv2d, Linear, MaxPool2d } from '../src/nn/layers.js';
import { Sequential } from '../src/nn/module.js';
import { reshape } from '../src/frontend/ops/shape.js';
import { Module, type Params } from '../src/nn/module.js';
import type { Tensor } from '../src/frontend/tensor.js';
import { SGD } from '../src/optim/optimizer.js';

class Flatten extends Module { constructor() { super('Flatten'); } forward(_p: Params, x: Tensor): Tensor { return reshape(x, [x.shape[0]!, x.shape.slice(1).reduce((a, b) => a * b, 1)]); } }
const kind = process.argv[2] ?? 'mlp', steps = Number(process.argv[3] ?? 20), B = 128;
const model = kind === 'mlp'
  ? new Sequential(new Linear(784, 256, { seed: 1 }), new Activation('relu'), new Linear(256, 10, { seed: 2 }))
  : new Sequential(new Conv2d(1, 16, 3, { seed: 1 }), new Activation('relu'), new MaxPool2d({ kernel: 2 }), new Conv2d(16, 32, 3, { seed: 2 }), new Activation('relu'), new MaxPool2d({ kernel: 2 }), new Flatten(), new Linear(32 * 5 * 5, 10, { seed: 3 }));
toFloat32(model);
const ex = new InprocExecutor({ sites: 1 });
const cm = new CompiledModel(model, { executor: ex, exampleShape: kind === 'mlp' ? [784] : [1, 28, 28], classes: 10 });
const x = Float32Array.from({ length: B * 784 }, (_, i) => ((i * 7919) % 255) / 255), y = Int32Array.from({ length: B }, (_, i) => i % 10);
const opt = new SGD(0.1);
let t0 = performance.now();
let r = await cm.step(x, y); opt.step(model.parameters(), r.grads);
console.log(`first step ${(performance.now() - t0).toFixed(0)} ms, backend ${ex.backend}`);
t0 = performance.now();
const tr: number[] = [], to: number[] = [];
for (let i = 0; i < steps; i++) {
  const a = performance.now();
  r = await cm.step(x, y);
  const b = performance.now();
  opt.step(model.parameters(), r.grads);
  tr.push(b - a); to.push(performance.now() - b);
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]!;
const per = (performance.now() - t0) / steps, m = med(tr) + med(to);
console.log(`${kind}: mean ${per.toFixed(2)} ms/step; median run ${med(tr).toFixed(2)} + optimizer ${med(to).toFixed(2)} ms (est ${(m * 469 / 1000).toFixed(1)} s/epoch), loss ${r.loss.toFixed(4)}, traces ${cm.traces}`);
