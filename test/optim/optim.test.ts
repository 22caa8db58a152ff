/** Optimisers against hand-computed updates from the published formulas, schedules, clipping, freeze/masks, and descent on a quadratic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nn, optim, tensor } from '../../src/index.js';

const param = (data: number[], extra: Partial<nn.Param> = {}): nn.Param => ({ shape: [data.length], data: Float64Array.from(data), frozen: false, ...extra });
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('SGD: plain, momentum, Nesterov and weight decay follow torch.optim.SGD', () => {
  const gs = [0.5, -0.2, 0.3];
  for (const [opts, expect] of [
    [{}, (w: number, g: number[]) => g.reduce((x, gi) => x - 0.1 * gi, w)],
    [{ momentum: 0.9 }, (w: number, g: number[]) => { let v = 0; g.forEach((gi, t) => { v = t === 0 ? gi : 0.9 * v + gi; w -= 0.1 * v; }); return w; }],
    [{ momentum: 0.9, nesterov: true }, (w: number, g: number[]) => { let v = 0; g.forEach((gi, t) => { v = t === 0 ? gi : 0.9 * v + gi; w -= 0.1 * (gi + 0.9 * v); }); return w; }],
    [{ weightDecay: 0.01 }, (w: number, g: number[]) => g.reduce((x, gi) => x - 0.1 * (gi + 0.01 * x), w)],
  ] as const) {
    const p = { w: param([1]) }, o = new optim.SGD(0.1, opts);
    for (const g of gs) o.step(p, { w: [g] });
    near(p.w.data[0]!, expect(1, gs), JSON.stringify(opts));
  }
  assert.throws(() => new optim.SGD(0.1, { nesterov: true }), (e: Error) => e.name === 'OptionError');
});

test('Adam and AdamW match Algorithm 1 of Kingma & Ba (and decoupled decay) step by step', () => {
  const gs = [0.3, -1.2, 0.05, 2];
  const ref = (decay: 'l2' | 'decoupled' | 'none') => {
    let w = 0.7, m = 0, v = 0;
    const out: number[] = [];
    gs.forEach((g0, i) => {
      const t = i + 1, lr = 0.01, wd = 0.1;
      if (decay === 'decoupled') w -= lr * wd * w;
      const g = decay === 'l2' ? g0 + wd * w : g0;
      m = 0.9 * m + 0.1 * g; v = 0.999 * v + 0.001 * g * g;
      w -= lr * (m / (1 - 0.9 ** t)) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
      out.push(w);
    });
    return out;
  };
  for (const [o, decay] of [[new optim.Adam(0.01), 'none'], [new optim.Adam(0.01, { weightDecay: 0.1 }), 'l2'], [new optim.AdamW(0.01, { weightDecay: 0.1 }), 'decoupled']] as const) {
    const p = { w: param([0.7]) }, want = ref(decay);
    gs.forEach((g, i) => { o.step(p, { w: [g] }); near(p.w.data[0]!, want[i]!, `${decay} step ${i + 1}`); });
  }
  // First Adam step moves every coordinate by about lr, whatever the gradient's scale.
  const p = { w: param([0, 0]) };
  new optim.Adam(0.01).step(p, { w: [1e-3, 1e3] });
  assert.ok(Math.abs(p.w.data[0]! + 0.01) < 1e-6 && Math.abs(p.w.data[1]! + 0.01) < 1e-6);
});

test('frozen parameters are untouched; masked entries stay zero even under momentum and weight decay', () => {
  const p = { a: param([1, 2], { frozen: true }), b: param([1, 2, 3], { mask: Float64Array.from([1, 0, 1]) }) };
  p.b.data[1] = 0;
  const o = new optim.SGD(0.1, { momentum: 0.9, weightDecay: 0.5 });
  for (let i = 0; i < 3; i++) o.step(p, { a: [1, 1], b: [1, 1, 1] });
  assert.deepEqual(Array.from(p.a.data), [1, 2]);
  assert.equal(p.b.data[1], 0);
  assert.ok(p.b.data[0]! < 1);
  assert.throws(() => o.step(p, { b: [1] }), (e: Error) => e.name === 'ShapeError');
});

test('schedules: step, cosine, linear warm-up', () => {
  const s = optim.stepLR(1, 3, 0.5);
  assert.deepEqual([0, 2, 3, 5, 6].map(s), [1, 1, 0.5, 0.5, 0.25]);
  const c = optim.cosineLR(1, 10, 0.1);
  near(c(0), 1, 'cos 0'); near(c(5), 0.55, 'cos mid'); near(c(10), 0.1, 'cos end'); near(c(20), 0.1, 'cos after');
  const w = optim.warmup(4, c);
  assert.deepEqual([0, 1, 2, 3].map(w), [0.25, 0.5, 0.75, 1]);
  near(w(9), c(5), 'after warm-up');
  assert.throws(() => optim.stepLR(1, 0), (e: Error) => e.name === 'OptionError');
});

test('global-norm clipping scales all gradients together and reports the norm', () => {
  const g = { a: Float64Array.from([3, 0]), b: Float64Array.from([4]) };
  near(optim.clipGradNorm(g, 1), 5, 'norm');
  near(Math.hypot(g.a[0]!, g.a[1]!, g.b[0]!), 5 / (5 + 1e-6), 'clipped norm (torch keeps an epsilon)');
  near(g.a[0]! / g.b[0]!, 0.75, 'direction kept');
  const h = { a: Float64Array.from([0.3, 0.4]) };
  optim.clipGradNorm(h, 1);
  assert.deepEqual(Array.from(h.a), [0.3, 0.4]);
});

test('every optimiser decreases a quadratic through the Module trainer', () => {
  // f(W) = mean((x W^T - y)^2) for a fixed linear target: a convex quadratic in W.
  for (const make of [() => new optim.SGD(0.1, { momentum: 0.9 }), () => new optim.SGD(0.1, { momentum: 0.9, nesterov: true }), () => new optim.Adam(0.05), () => new optim.AdamW(0.05)]) {
    const lin = new nn.Linear(3, 2, { seed: 4 }), o = make();
    const X = nn.initValues('xavierNormal', [8, 3], 1), Y = X.map((v, i) => (i % 3) * v);
    const x = { data: X, shape: [8, 3] }, y = { data: Float64Array.from({ length: 16 }, (_, i) => Y[Math.floor(i / 2) * 3 + (i % 2)]!), shape: [8, 2] };
    const losses: number[] = [];
    for (let t = 0; t < 40; t++) {
      const { loss, grads } = nn.valueAndGradModule(lin, (p) => nn.mse(lin.forward(p, tensorOf(x)), tensorOf(y)), 'float64');
      losses.push(loss);
      o.step(lin.parameters(), grads);
    }
    assert.ok(losses[39]! < 0.2 * losses[0]!, `${o.constructor.name}: ${losses[0]} -> ${losses[39]}`);
  }
});

const tensorOf = (a: { data: Float64Array; shape: number[] }) => tensor(a.data, { shape: a.shape, dtype: 'float64' });
