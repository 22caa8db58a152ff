/**
 * Issue 3's figures, peers measured in the same run (medians of --runs runs after a warm-up):
 *   node dist/bench/engine.js [--runs 5] [--sizes 1024,2048,4096] [--only matmul,chain,mlp,sites]
 *  - matmul n×n: relml (einsum -> plan -> in-process executor, 1 site, ort kernels) vs the bare kernel
 *    call (relational overhead), numpy (OpenBLAS), tfjs-wasm, and relml's reference backend (n <= 512);
 *  - the mixed-shape chain 4096×64 · 64×4096 · 4096×64: optimizer's plan vs the naive left-to-right plan;
 *  - one training step (forward + backward) of an MLP 784-1024-1024-10 at batch 512: relml vs tfjs-wasm;
 *  - 1 site vs 2 sites wall time, with predicted vs measured bytes moved for every plan run on 2 sites.
 */
import { einsum, gradPlan, input, logsumexp, mean, mul, relu, sub, sum, tensor, toPlan, add, type Tensor } from '../src/index.js';
import { applyKernel } from '../src/kernels/registry.js';
import { ORT, ORT_STATUS } from '../src/kernels/ort/index.js';
import { REFERENCE } from '../src/kernels/reference/index.js';
import { InprocExecutor } from '../src/exec/inproc/index.js';
import { runSync } from '../src/exec/reference/index.js';
import type { Plan } from '../src/tra/plan.js';
import { makeTile } from '../src/tile.js';
import { arg, fmt, loadTfjsWasm, python, randomData, table, timeIt } from './common.js';

const RUNS = Number(arg('runs', '5'));
const SIZES = arg('sizes', '1024,2048,4096').split(',').map(Number);
const ONLY = arg('only', 'matmul,chain,mlp,sites').split(',');
const bytesChecks: { plan: string; predicted: number; measured: number }[] = [];

async function matmul(tf: Awaited<ReturnType<typeof loadTfjsWasm>>): Promise<void> {
  const one = new InprocExecutor({ sites: 1 });
  const rows: string[][] = [];
  for (const n of [...(SIZES.includes(512) ? [] : [512]), ...SIZES]) {
    const a = randomData(n * n, 1), b = randomData(n * n, 2);
    const plan = toPlan(einsum('ik,kj->ij', input('A', [n, n]), input('B', [n, n])));
    const binds = { A: { shape: [n, n], data: a }, B: { shape: [n, n], data: b } };
    const tA = makeTile([n, n], 'float32', a), tB = makeTile([n, n], 'float32', b);
    const call = { name: 'einsum', attrs: { spec: 'ik,kj->ij' } };
    const bare = await timeIt(() => applyKernel(ORT, call, [tA, tB], 'float32'), RUNS);
    const relml = await timeIt(() => one.run(plan, binds), RUNS);
    const ref = n <= 512 ? await timeIt(() => runSync(plan, binds), 1) : undefined;
    const np = python(`
import json, time, numpy as np
n=${n}; rng=np.random.default_rng(0)
a=rng.uniform(-1,1,(n,n)).astype(np.float32); b=rng.uniform(-1,1,(n,n)).astype(np.float32)
a@b; ts=[]
for _ in range(${RUNS}):
    t0=time.perf_counter(); a@b; ts.append(time.perf_counter()-t0)
print(json.dumps(sorted(ts)[len(ts)//2]))`) as number;
    let tfs: number | undefined;
    if (typeof tf !== 'string' && n <= 2048) {
      const x = tf.tensor2d(a, [n, n]), y = tf.tensor2d(b, [n, n]);
      tfs = await timeIt(() => { const z = tf.matMul(x, y); z.dataSync(); z.dispose(); }, Math.min(RUNS, 3));
      x.dispose(); y.dispose();
    }
    const gf = (s: number | undefined) => (s === undefined ? undefined : 2 * n ** 3 / s / 1e9);
    rows.push([String(n), fmt(relml * 1e3, 1), fmt(gf(relml), 1), fmt(bare * 1e3, 1), fmt(relml / bare, 3), fmt(np * 1e3, 1), fmt(gf(np), 1), fmt(np / relml, 2),
      fmt(tfs === undefined ? undefined : tfs * 1e3, 1), fmt(tfs === undefined ? undefined : tfs / relml, 1), fmt(ref === undefined ? undefined : ref * 1e3, 0)]);
  }
  console.log(`\n## Square matmul (float32), median of ${RUNS}`);
  console.log(table(['n', 'relml ms', 'GFLOP/s', 'bare ort ms', 'relml/bare', 'numpy ms', 'numpy GFLOP/s', 'relml speed vs numpy', 'tfjs-wasm ms', 'tfjs/relml', 'reference ms'], rows));
  await one.close();
}

async function chain(): Promise<void> {
  const A = input('A', [4096, 64], { tile: [1024, 64] }), B = input('B', [64, 4096], { tile: [64, 1024] }), C = input('C', [4096, 64], { tile: [1024, 64] });
  const plan = toPlan({ D: einsum('ij,jk->ik', einsum('ij,jk->ik', A, B), C) });
  const binds = { A: { shape: [4096, 64], data: randomData(4096 * 64, 1, 0.1) }, B: { shape: [64, 4096], data: randomData(64 * 4096, 2, 0.1) }, C: { shape: [4096, 64], data: randomData(4096 * 64, 3, 0.1) } };
  const rows: string[][] = [];
  for (const sites of [1, 2]) {
    const opt = new InprocExecutor({ sites }), naive = new InprocExecutor({ sites, disable: ['reassociate'] });
    const tOpt = await timeIt(() => opt.run(plan, binds), RUNS);
    const tNaive = await timeIt(() => naive.run(plan, binds), Math.min(RUNS, 3));
    for (const [name, ex] of [['chain optimized', opt], ['chain naive', naive]] as const) record(`${name}, ${sites} site(s)`, ex);
    rows.push([String(sites), fmt(tOpt * 1e3, 1), fmt(tNaive * 1e3, 1), fmt(tNaive / tOpt, 1)]);
    await opt.close(); await naive.close();
  }
  console.log(`\n## Chain 4096×64 · 64×4096 · 4096×64 written left to right, median of ${RUNS}`);
  console.log(table(['sites', 'optimizer plan ms', 'naive plan ms', 'speed-up'], rows));
}

function record(name: string, ex: InprocExecutor): void {
  const r = ex.lastReport;
  if (r && ex.sites > 1) bytesChecks.push({ plan: name, predicted: r.bytesPredicted, measured: r.bytesMoved });
}

/** The MLP's loss on a batch, as relml tensors. */
function mlpLoss(x: Tensor, y: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor, W3: Tensor, b3: Tensor): Tensor {
  const h1 = relu(add(einsum('bi,ih->bh', x, W1), b1));
  const h2 = relu(add(einsum('bi,ih->bh', h1, W2), b2));
  const z = add(einsum('bi,ih->bh', h2, W3), b3);
  return mean(sub(logsumexp(z, 1), sum(mul(z, y), 1)));
}

async function mlp(tf: Awaited<ReturnType<typeof loadTfjsWasm>>): Promise<void> {
  const B = 512, dims = [784, 1024, 1024, 10];
  const x = randomData(B * 784, 1), y = new Float32Array(B * 10);
  for (let i = 0; i < B; i++) y[i * 10 + (i % 10)] = 1;
  const params: [number[], Float32Array][] = [];
  for (let l = 0; l < 3; l++) {
    params.push([[dims[l]!, dims[l + 1]!], randomData(dims[l]! * dims[l + 1]!, 10 + l, Math.sqrt(6 / dims[l]!))]);
    params.push([[dims[l + 1]!], new Float32Array(dims[l + 1]!)]);
  }
  const args = [tensor(x, { shape: [B, 784] }), tensor(y, { shape: [B, 10] }), ...params.map(([s, d]) => tensor(d, { shape: s }))];
  const plan: Plan = gradPlan((...t) => mlpLoss(...(t as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor])), args, [2, 3, 4, 5, 6, 7]);
  const binds = Object.fromEntries([[x, [B, 784]], [y, [B, 10]], ...params.map(([s, d]) => [d, s])].map(([d, s], i) => [`arg${i}`, { shape: s as number[], data: d as Float32Array }]));
  const rows: string[][] = [];
  const one = new InprocExecutor({ sites: 1 });
  const tRelml = await timeIt(() => one.run(plan, binds), RUNS);
  const tNoCheck = await timeIt(() => one.run(plan, binds, { checkFinite: false }), RUNS);
  let tTf: number | undefined;
  if (typeof tf !== 'string') {
    const vars = params.map(([s, d]) => tf.variable(tf.tensor(d, s)));
    const tx = tf.tensor2d(x, [B, 784]), ty = tf.tensor2d(y, [B, 10]);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        let h = tx as import('@tensorflow/tfjs').Tensor2D;
        for (let l = 0; l < 3; l++) {
          const z = tf.add(tf.matMul(h, vars[2 * l] as import('@tensorflow/tfjs').Tensor2D), vars[2 * l + 1]!) as import('@tensorflow/tfjs').Tensor2D;
          h = l < 2 ? tf.relu(z) : z;
        }
        return tf.mean(tf.sub(tf.logSumExp(h, 1), tf.sum(tf.mul(h, ty), 1))) as import('@tensorflow/tfjs').Scalar;
      });
      value.dataSync();
      for (const g of Object.values(grads)) g.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    };
    tTf = await timeIt(step, Math.min(RUNS, 3));
  }
  rows.push(['relml (1 site, ort)', fmt(tRelml * 1e3, 1), fmt(tTf === undefined ? undefined : tTf / tRelml, 2)]);
  rows.push(['relml, checkFinite off', fmt(tNoCheck * 1e3, 1), fmt(tTf === undefined ? undefined : tTf / tNoCheck, 2)]);
  rows.push(['tfjs-wasm', fmt(tTf === undefined ? undefined : tTf * 1e3, 1), '1.00']);
  console.log(`\n## Training step (forward + backward), MLP 784-1024-1024-10, batch 512, median of ${RUNS}`);
  console.log(table(['system', 'ms/step', 'tfjs-wasm time / this'], rows));
  await one.close();
}

async function sites(): Promise<void> {
  const rows: string[][] = [];
  for (const n of [2048]) {
    const plan = toPlan(einsum('ik,kj->ij', input('A', [n, n], { tile: [n / 2, n / 2] }), input('B', [n, n], { tile: [n / 2, n / 2] })));
    const binds = { A: { shape: [n, n], data: randomData(n * n, 1) }, B: { shape: [n, n], data: randomData(n * n, 2) } };
    const ts: number[] = [];
    for (const s of [1, 2]) {
      const ex = new InprocExecutor({ sites: s });
      ts.push(await timeIt(() => ex.run(plan, binds), RUNS));
      record(`matmul ${n} tiled ${n / 2}, 2 sites`, ex);
      await ex.close();
    }
    rows.push([`matmul ${n} (tiles ${n / 2})`, fmt(ts[0]! * 1e3, 1), fmt(ts[1]! * 1e3, 1), fmt(ts[0]! / ts[1]!, 2)]);
  }
  console.log(`\n## 1 site vs 2 sites, median of ${RUNS}`);
  console.log(table(['plan', '1 site ms', '2 sites ms', 'speed-up'], rows));
}

async function main(): Promise<void> {
  console.log(`relml engine benchmark; node ${process.version}; ort ${ORT_STATUS.ok ? ORT_STATUS.version : `unavailable (${ORT_STATUS.reason})`}; reference backend '${REFERENCE}'`);
  const tf = ONLY.includes('matmul') || ONLY.includes('mlp') ? await loadTfjsWasm() : 'not needed';
  if (typeof tf === 'string') console.log(tf);
  if (ONLY.includes('matmul')) await matmul(tf);
  if (ONLY.includes('chain')) await chain();
  if (ONLY.includes('mlp')) await mlp(tf);
  if (ONLY.includes('sites')) await sites();
  if (bytesChecks.length) {
    console.log('\n## Bytes moved between sites: predicted vs measured');
    console.log(table(['plan', 'predicted B', 'measured B', 'measured/predicted'], bytesChecks.map((b) => [b.plan, String(b.predicted), String(b.measured), fmt(b.predicted ? b.measured / b.predicted : 1, 3)])));
  }
}

await main();
