/**
 * Training speed and accuracy on Fashion-MNIST, the issue-4 figures for relml:
 *   node dist/bench/train_epoch.js [--epochs 5] [--cnn-steps 20] [--models mlp,cnn]
 * MLP 784-256-10 (ReLU) and the small CNN, SGD lr 0.1, batch 128, seed 1, compiled step on the in-process
 * executor (1 site, ort kernels). Prints seconds per epoch (training only; the test evaluation is timed
 * separately) and test accuracy after each epoch. The CNN is timed over --cnn-steps steps and its epoch
 * time extrapolated to 469 steps when it is too slow to run whole epochs (--cnn-steps 0 runs epochs).
 */
import { buildModel, exampleShape, type ModelKind } from '../src/cli/models.js';
import { evaluate } from '../src/cli/train.js';
import { InprocExecutor } from '../src/exec/inproc/index.js';
import { loadFashionMnist } from '../src/data/idx.js';
import { DataLoader, deriveSeed } from '../src/data/loader.js';
import { CompiledModel, toFloat32 } from '../src/nn/compiled.js';
import { SGD } from '../src/optim/optimizer.js';
import { median, timeSteps } from './common.js';

const arg = (name: string, d: string) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : d; };
const EPOCHS = Number(arg('epochs', '5')), CNN_STEPS = Number(arg('cnn-steps', '20')), MODELS = arg('models', 'mlp,cnn').split(',') as ModelKind[];
const data = loadFashionMnist();
for (const kind of MODELS) {
  const model = toFloat32(buildModel(kind, 1));
  const ex = new InprocExecutor({ sites: 1 });
  const cm = new CompiledModel(model, { executor: ex, exampleShape: exampleShape(kind), classes: 10 });
  const opt = new SGD(0.1);
  const loader = new DataLoader(data.train.images, 784, data.train.labels, { batchSize: 128, seed: deriveSeed(1, 1) });
  if (kind === 'cnn' && CNN_STEPS > 0) {
    const times = await timeSteps((x, y) => cm.step(x, y), (g) => opt.step(model.parameters(), g), loader.epoch(0), CNN_STEPS);
    const med = median(times);
    console.log(`cnn: ${(med * 1000).toFixed(0)} ms/step (median of ${CNN_STEPS} after 2 warm-up steps) => ${(med * loader.numBatches).toFixed(0)} s/epoch extrapolated`);
    continue;
  }
  for (let e = 0; e < EPOCHS; e++) {
    const t0 = performance.now();
    for (const b of loader.epoch(e)) { const r = await cm.step(b.x, b.y); opt.step(model.parameters(), r.grads); }
    const secs = (performance.now() - t0) / 1000, t1 = performance.now();
    const ev = await evaluate(cm, data.test);
    console.log(`${kind} epoch ${e + 1}: ${secs.toFixed(2)} s train (${(60000 / secs).toFixed(0)} img/s), test accuracy ${(ev.accuracy * 100).toFixed(2)}%, eval ${((performance.now() - t1) / 1000).toFixed(2)} s`);
  }
  await ex.close();
}
