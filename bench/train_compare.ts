/**
 * Issue-4 figures, peers in the same run: Fashion-MNIST, MLP 784-256-10 (ReLU) and the small CNN
 * (conv 1->16 3x3, ReLU, max-pool 2, conv 16->32 3x3, ReLU, max-pool 2, linear -> 10), SGD lr 0.1,
 * batch 128. Seconds per epoch (training only) and test accuracy after 1 and `--epochs` epochs, for
 *   relml     the compiled step on the in-process executor (1 site: one composed ONNX graph per step, onnxruntime's
 *             default threads, as the CLI; RELML_ORT_THREADS overrides),
 *   PyTorch   /usr/bin/python3 bench/torch_fashion.py (Debian's python3-torch, 2 threads), in its fastest
 *             configuration here: the MLP with OpenBLAS (libopenblas0-pthread) and OPENBLAS_NUM_THREADS=1
 *             (0.96 s/epoch, against 2.8 s with 2 OpenBLAS threads and 39 s on the reference BLAS); the CNN
 *             on the reference BLAS (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas: 7.8 s, against 13–27 s
 *             with OpenBLAS). When root and torch is missing, the script apt-get installs both packages.
 *   tfjs-wasm @tensorflow/tfjs with the wasm backend, optimizer.minimize per batch.
 *   node dist/bench/train_compare.js [--epochs 5] [--models mlp,cnn] [--cnn-steps 0] [--peers torch,tfjs]
 * With --cnn-steps N > 0 the CNNs (relml's, tfjs's) are timed over N steps only and their epoch time
 * extrapolated (marked "~"); their accuracy is then not measured. By default every model trains whole epochs.
 */
const { buildModel, exampleShape } = await import('../src/cli/models.js');
const { evaluate } = await import('../src/cli/train.js');
const { InprocExecutor } = await import('../src/exec/inproc/index.js');
const { loadFashionMnist } = await import('../src/data/idx.js');
const { DataLoader, deriveSeed } = await import('../src/data/loader.js');
const { CompiledModel, toFloat32 } = await import('../src/nn/compiled.js');
const { SGD } = await import('../src/optim/optimizer.js');
const { arg, loadTfjsWasm, table, timeSteps } = await import('./common.js');
const { spawnSync } = await import('node:child_process');

type Kind = 'mlp' | 'cnn';
interface Row { system: string; model: Kind; secs: number[]; acc: number[]; extrapolated?: boolean; note?: string }
const EPOCHS = Number(arg('epochs', '5')), CNN_STEPS = Number(arg('cnn-steps', '0'));
const MODELS = arg('models', 'mlp,cnn').split(',') as Kind[], PEERS = arg('peers', 'torch,tfjs').split(',');
const data = loadFashionMnist();
const STEPS = Math.ceil(data.train.n / 128);
const rows: Row[] = [];

async function relml(kind: Kind): Promise<Row> {
  const model = toFloat32(buildModel(kind, 1));
  const ex = new InprocExecutor({ sites: 1 });
  const cm = new CompiledModel(model, { executor: ex, exampleShape: exampleShape(kind), classes: 10 });
  const opt = new SGD(0.1);
  const loader = new DataLoader(data.train.images, 784, data.train.labels, { batchSize: 128, seed: deriveSeed(1, 1) });
  const row: Row = { system: 'relml', model: kind, secs: [], acc: [] };
  try {
    if (kind === 'cnn' && CNN_STEPS > 0) {
      const ts = await timeSteps((x, y) => cm.step(x, y), (g) => opt.step(model.parameters(), g), loader.epoch(0), CNN_STEPS);
      row.secs.push((ts.reduce((a, b) => a + b, 0) / ts.length) * STEPS);
      row.extrapolated = true;
      return row;
    }
    for (let e = 0; e < EPOCHS; e++) {
      const t0 = performance.now();
      for (const b of loader.epoch(e)) { const r = await cm.step(b.x, b.y); opt.step(model.parameters(), r.grads); }
      row.secs.push((performance.now() - t0) / 1000);
      row.acc.push((await evaluate(cm, data.test)).accuracy);
    }
    return row;
  } finally { await ex.close(); }
}

function ensureTorch(): void {
  if (spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  console.error('installing python3-torch and libopenblas0-pthread (apt-get)');
  spawnSync('apt-get', ['install', '-y', '-q', 'python3-torch', 'libopenblas0-pthread'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function torch(kind: Kind): Row {
  ensureTorch();
  const fastest: Record<Kind, Record<string, string>> = {
    mlp: { OPENBLAS_NUM_THREADS: '1' },
    cnn: { LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/blas' }, // Debian's reference BLAS instead of OpenBLAS
  };
  const row: Row = { system: `PyTorch (2 threads, ${kind === 'mlp' ? 'OpenBLAS 1 thread' : 'reference BLAS'})`, model: kind, secs: [], acc: [] };
  const r = spawnSync('/usr/bin/python3', ['bench/torch_fashion.py', '--model', kind, '--epochs', String(EPOCHS), '--threads', '2'], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...fastest[kind] } });
  if (r.status !== 0) { row.note = `unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`; return row; }
  for (const line of r.stdout.trim().split('\n')) { const j = JSON.parse(line); row.secs.push(j.seconds); row.acc.push(j.test_accuracy); }
  return row;
}

async function tfjs(kind: Kind): Promise<Row> {
  const row: Row = { system: 'tfjs-wasm', model: kind, secs: [], acc: [] };
  const tf = await loadTfjsWasm();
  if (typeof tf === 'string') { row.note = tf; return row; }
  const m = tf.sequential();
  if (kind === 'mlp') {
    m.add(tf.layers.dense({ units: 256, activation: 'relu', inputShape: [784] }));
    m.add(tf.layers.dense({ units: 10 }));
  } else {
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', inputShape: [28, 28, 1] }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 10 }));
  }
  const opt = tf.train.sgd(0.1);
  const loader = new DataLoader(data.train.images, 784, data.train.labels, { batchSize: 128, seed: deriveSeed(1, 1) });
  const shape = (n: number) => (kind === 'mlp' ? [n, 784] : [n, 28, 28, 1]);
  const step = (x: Float32Array, y: Int32Array) => tf.tidy(() => {
    const xs = tf.tensor(x, shape(y.length)), ys = tf.oneHot(tf.tensor1d(y, 'int32'), 10);
    opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, m.apply(xs) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar);
  });
  const accuracy = () => {
    let correct = 0;
    for (let i = 0; i < data.test.n; i += 1000) {
      const n = Math.min(1000, data.test.n - i);
      const pred = tf.tidy(() => (m.predict(tf.tensor(data.test.images.subarray(i * 784, (i + n) * 784), shape(n))) as import('@tensorflow/tfjs').Tensor).argMax(1).dataSync());
      for (let j = 0; j < n; j++) if (pred[j] === data.test.labels[i + j]) correct++;
    }
    return correct / data.test.n;
  };
  if (kind === 'cnn' && CNN_STEPS > 0) {
    const it = loader.epoch(0);
    for (let s = 0; s < 2; s++) { const b = it.next().value!; step(b.x, b.y); }
    const t = performance.now();
    for (let s = 0; s < CNN_STEPS; s++) { const b = it.next().value!; step(b.x, b.y); }
    row.secs.push(((performance.now() - t) / 1000 / CNN_STEPS) * STEPS);
    row.extrapolated = true;
    return row;
  }
  for (let e = 0; e < EPOCHS; e++) {
    const t0 = performance.now();
    for (const b of loader.epoch(e)) step(b.x, b.y);
    row.secs.push((performance.now() - t0) / 1000);
    row.acc.push(accuracy());
  }
  return row;
}

for (const kind of MODELS) {
  rows.push(await relml(kind));
  if (PEERS.includes('torch')) rows.push(torch(kind));
  if (PEERS.includes('tfjs')) {
    try { rows.push(await tfjs(kind)); } catch (e) {
      // e.g. the wasm backend has no Conv2DBackpropFilter kernel, so the CNN cannot train there.
      rows.push({ system: 'tfjs-wasm', model: kind, secs: [], acc: [], note: `failed: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  console.error(`done: ${kind}`);
}
const pct = (v: number | undefined) => (v === undefined ? '–' : `${(v * 100).toFixed(2)}%`);
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
console.log(table(['model', 'system', 's/epoch', 'test acc, 1 epoch', `test acc, ${EPOCHS} epochs`, 'note'], rows.map((r) => [
  r.model, r.system, r.secs.length ? `${r.extrapolated ? '~' : ''}${mean(r.secs).toFixed(2)}` : '–', pct(r.acc[0]), pct(r.acc[EPOCHS - 1]),
  r.note ?? (r.extrapolated ? `extrapolated from ${CNN_STEPS} steps` : `mean of ${r.secs.length} epochs`),
])));
