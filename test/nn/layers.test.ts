/** Layers and losses against float64 loop references, their gradients against finite differences, and Module behaviour. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mul, nn, sum, tensor, type Tensor } from '../../src/index.js';
import { checkGrad, close, rand, randArr } from './fd.js';

const t64 = (d: ArrayLike<number>, shape: number[]) => tensor(Float64Array.from(d), { shape, dtype: 'float64' });
const weighted = (y: Tensor, w: Float64Array) => sum(mul(y, t64(w.slice(0, y.shape.reduce((p, q) => p * q, 1)), y.shape)));

test('Linear forward is x W^T + b and its gradients match finite differences', () => {
  const r = rand(1), lin = new nn.Linear(3, 2, { seed: 5 });
  const x = randArr(12, r), p = lin.tensors('float64');
  const W = lin.parameters().weight!.data, b = lin.parameters().bias!.data;
  const want: number[] = [];
  for (let i = 0; i < 4; i++) for (let o = 0; o < 2; o++) { let s = b[o]!; for (let k = 0; k < 3; k++) s += x[i * 3 + k]! * W[o * 3 + k]!; want.push(s); }
  close(lin.forward(p, t64(x, [4, 3])).dataSync(), want, 1e-12, 'linear');
  const up = randArr(8, r);
  checkGrad((xx, w, bb) => weighted(lin.forward({ weight: w!, bias: bb! }, xx!), up), [[4, 3], [2, 3], [2]], [x, randArr(6, r), randArr(2, r)]);
});

test('activations match their formulas and differentiate correctly', () => {
  const r = rand(2), x = randArr(10, r).map((v) => 3 * v), up = randArr(10, r);
  const refs: Record<string, (v: number) => number> = {
    gelu: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
    silu: (v) => v / (1 + Math.exp(-v)),
    softplus: (v) => Math.log(1 + Math.exp(v)),
    leakyRelu: (v) => (v > 0 ? v : 0.01 * v),
  };
  for (const [name, ref] of Object.entries(refs)) {
    const fn = (nn as unknown as Record<string, (t: Tensor) => Tensor>)[name]!;
    close(fn(t64(x, [10])).dataSync(), Array.from(x, ref), 1e-12, name);
    checkGrad((t) => weighted(fn(t!), up), [[10]], [x]);
  }
});

test('LayerNorm normalises the last axis, then scales and shifts; gradients match', () => {
  const r = rand(3), x = randArr(12, r), g = randArr(4, r), b = randArr(4, r), up = randArr(12, r);
  const want: number[] = [];
  for (let i = 0; i < 3; i++) {
    const row = Array.from(x.slice(i * 4, i * 4 + 4)), mu = row.reduce((p, q) => p + q) / 4, v = row.reduce((p, q) => p + (q - mu) ** 2, 0) / 4;
    row.forEach((q, j) => want.push(((q - mu) / Math.sqrt(v + 1e-5)) * g[j]! + b[j]!));
  }
  const ln = new nn.LayerNorm(4);
  close(ln.forward({ weight: t64(g, [4]), bias: t64(b, [4]) }, t64(x, [3, 4])).dataSync(), want, 1e-10, 'layerNorm');
  checkGrad((xx, gg, bb) => weighted(ln.forward({ weight: gg!, bias: bb! }, xx!), up), [[3, 4], [4], [4]], [x, g, b], 1e-5);
});

test('BatchNorm: batch statistics in training, running statistics updated outside the plan and used in eval', () => {
  const r = rand(4), N = 3, C = 2, H = 2, W = 2, x = randArr(N * C * H * W, r), up = randArr(24, r);
  const bn = new nn.BatchNorm(C, { momentum: 0.5 });
  const mean = [0, 0], vr = [0, 0], n = N * H * W;
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let i = 0; i < N; i++) for (let k = 0; k < H * W; k++) vals.push(x[(i * C + c) * H * W + k]!);
    mean[c] = vals.reduce((p, q) => p + q) / n; vr[c] = vals.reduce((p, q) => p + (q - mean[c]!) ** 2, 0) / n;
  }
  const ref = (m: number[], v: number[]) => Array.from(x, (q, i) => { const c = Math.floor(i / (H * W)) % C; return (q - m[c]!) / Math.sqrt(v[c]! + 1e-5); });
  // One training step through the trainer: the loss uses batch stats, and the running stats move.
  const { loss } = nn.valueAndGradModule(bn, (p) => weighted(bn.forward(p, t64(x, [N, C, H, W])), up), 'float64');
  close([loss], [ref(mean, vr).reduce((s, q, i) => s + q * up[i]!, 0)], 1e-10, 'train loss');
  close(bn.runningMean, mean.map((m) => 0.5 * m), 1e-12, 'running mean');
  close(bn.runningVar, vr.map((v) => 0.5 + 0.5 * v * n / (n - 1)), 1e-12, 'running var (unbiased)');
  bn.eval();
  close(bn.forward(bn.tensors('float64'), t64(x, [N, C, H, W])).dataSync(), ref(Array.from(bn.runningMean), Array.from(bn.runningVar)), 1e-10, 'eval');
  bn.train();
  checkGrad((xx, gg, bb) => weighted(bn.forward({ weight: gg!, bias: bb! }, xx!), up), [[N, C, H, W], [C], [C]], [x, randArr(C, r), randArr(C, r)], 1e-5);
});

test('Dropout: seeded inverted mask in training, identity in eval, gradient flows through the mask', () => {
  const d = new nn.Dropout(0.5, 9), x = randArr(40, rand(5));
  const y = d.forward({}, t64(x, [40])).dataSync();
  const kept = Array.from(y).filter((v, i) => Math.abs(v - 2 * x[i]!) < 1e-12).length, dropped = Array.from(y).filter((v) => v === 0).length;
  assert.equal(kept + dropped, 40);
  assert.ok(dropped > 5 && dropped < 35, `dropped ${dropped} of 40`);
  assert.deepEqual(Array.from(new nn.Dropout(0.5, 9).mask([40])), Array.from(new nn.Dropout(0.5, 9).mask([40])), 'same seed, same mask');
  d.eval();
  close(d.forward({}, t64(x, [40])).dataSync(), x, 0, 'eval');
  assert.throws(() => new nn.Dropout(1), /Dropout/);
});

test('Embedding: lookup via a sparse one-hot join; gradient only on looked-up rows', () => {
  const emb = new nn.Embedding(10, 3, { seed: 2 }), ids = [4, 1, 4], W = emb.parameters().weight!.data;
  const y = emb.forward(emb.tensors('float64'), emb.oneHot(ids, 'float64')).dataSync();
  close(y, ids.flatMap((i) => Array.from(W.slice(i * 3, i * 3 + 3))), 1e-7, 'lookup');
  const up = randArr(9, rand(6));
  const { grads } = nn.valueAndGradModule(emb, (p) => weighted(emb.forward(p, emb.oneHot(ids, 'float64')), up), 'float64');
  const g = grads.weight!;
  for (let v = 0; v < 10; v++) for (let d = 0; d < 3; d++) {
    const want = ids.reduce((s, id, b) => s + (id === v ? up[b * 3 + d]! : 0), 0);
    assert.ok(Math.abs(g[v * 3 + d]! - want) < 1e-12, `row ${v}`);
  }
  assert.throws(() => emb.oneHot([10]), (e: Error) => e.name === 'ShapeError' && /Embedding\(10, 3\)/.test(e.message));
});

test('crossEntropy with label smoothing and mse match their formulas and gradients', () => {
  const r = rand(7), z = randArr(12, r).map((v) => 2 * v), labels = [2, 0, 3];
  for (const eps of [0, 0.1]) {
    let want = 0;
    for (let b = 0; b < 3; b++) {
      const row = Array.from(z.slice(b * 4, b * 4 + 4)), m = Math.max(...row), lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      row.forEach((v, c) => { want -= ((c === labels[b] ? 1 - eps : 0) + eps / 4) * (v - lse); });
    }
    close([nn.crossEntropy(t64(z, [3, 4]), labels, { labelSmoothing: eps }).item()], [want / 3], 1e-12, `CE eps=${eps}`);
    checkGrad((t) => nn.crossEntropy(t!, labels, { labelSmoothing: eps }), [[3, 4]], [z]);
  }
  const tgt = randArr(12, r);
  close([nn.mse(t64(z, [3, 4]), t64(tgt, [3, 4])).item()], [z.reduce((s, v, i) => s + (v - tgt[i]!) ** 2, 0) / 12], 1e-12, 'mse');
  checkGrad((a, b) => nn.mse(a!, b!), [[3, 4], [3, 4]], [z, tgt]);
  assert.throws(() => nn.crossEntropy(t64(z, [3, 4]), [0, 1]), (e: Error) => e.name === 'ShapeError' && /crossEntropy/.test(e.message));
});

test('initialisers: seeded, with the std their formulas give', () => {
  const shape = [200, 100];
  for (const [kind, std] of [['kaimingUniform', Math.SQRT2 / 10], ['kaimingNormal', Math.SQRT2 / 10], ['xavierUniform', Math.sqrt(2 / 300)], ['xavierNormal', Math.sqrt(2 / 300)]] as const) {
    const v = nn.initValues(kind, shape, 3);
    assert.deepEqual(Array.from(v.slice(0, 5)), Array.from(nn.initValues(kind, shape, 3).slice(0, 5)));
    const m = v.reduce((s, q) => s + q, 0) / v.length, sd = Math.sqrt(v.reduce((s, q) => s + (q - m) ** 2, 0) / v.length);
    assert.ok(Math.abs(sd / std - 1) < 0.03 && Math.abs(m) < 0.01, `${kind}: std ${sd} vs ${std}`);
    if (kind.endsWith('Uniform')) assert.ok(v.every((q) => Math.abs(q) <= Math.sqrt(3) * std));
  }
});

test('Module: dotted names, freeze gives no gradient, masks zero the parameter and its gradient', () => {
  const net = new nn.Sequential(new nn.Linear(3, 4, { seed: 1 }), new nn.Activation('tanh'), new nn.Linear(4, 2, { seed: 2 }));
  assert.deepEqual(Object.keys(net.parameters()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  net.freeze('0');
  const mask = [1, 0, 1, 1, 0, 1, 1, 1];
  net.setMask('2.weight', mask);
  assert.ok(mask.every((m, i) => m || net.parameters()['2.weight']!.data[i] === 0));
  const x = t64(randArr(15, rand(8)), [5, 3]);
  const { grads } = nn.valueAndGradModule(net, (p) => nn.crossEntropy(net.forward(p, x), [0, 1, 1, 0, 1]), 'float64');
  assert.deepEqual(Object.keys(grads), ['2.weight', '2.bias']);
  mask.forEach((m, i) => { if (!m) assert.equal(grads['2.weight']![i], 0); });
  assert.throws(() => net.setMask('2.weight', [1]), (e: Error) => e.name === 'ShapeError');
  assert.throws(() => net.setMask('nope', [1]), (e: Error) => e.name === 'OptionError');
});
