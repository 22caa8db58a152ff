/** im2col-based Conv2d and pooling against plain-loop float64 references, and their gradients against finite differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mul, nn, sum, tensor, type Tensor } from '../../src/index.js';
import { checkGrad, close, rand, randArr } from './fd.js';

/** Reference conv: y[n,o,p,q] = b[o] + sum_{c,i,j} x[n,g(o)*Cg+c,p*s-pad+i,q*s-pad+j] w[o,c,i,j], g(o) the filter's group. */
function convRef(x: Float64Array, [N, C, H, W]: number[], w: Float64Array, [O, Cg, KH, KW]: number[], b: Float64Array | null, s: number, pad: number, G = 1): { y: number[]; shape: number[] } {
  const OH = Math.floor((H + 2 * pad - KH) / s) + 1, OW = Math.floor((W + 2 * pad - KW) / s) + 1, y: number[] = [];
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let p = 0; p < OH; p++) for (let q = 0; q < OW; q++) {
    let acc = b ? b[o]! : 0;
    const g = Math.floor(o / (O / G));
    for (let c = 0; c < Cg!; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const yy = p * s - pad + i, xx = q * s - pad + j;
      if (yy >= 0 && yy < H && xx >= 0 && xx < W) acc += x[((n * C + g * Cg! + c) * H + yy) * W + xx]! * w[((o * Cg! + c) * KH + i) * KW + j]!;
    }
    y.push(acc);
  }
  return { y, shape: [N, O, OH, OW] };
}

function poolRef(x: Float64Array, [N, C, H, W]: number[], k: number, s: number, pad: number, kind: 'max' | 'avg'): number[] {
  const OH = Math.floor((H + 2 * pad - k) / s) + 1, OW = Math.floor((W + 2 * pad - k) / s) + 1, y: number[] = [];
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < OH; p++) for (let q = 0; q < OW; q++) {
    let m = -Infinity, sm = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const yy = p * s - pad + i, xx = q * s - pad + j;
      if (yy >= 0 && yy < H && xx >= 0 && xx < W) { const v = x[((n * C + c) * H + yy) * W + xx]!; m = Math.max(m, v); sm += v; }
    }
    y.push(kind === 'max' ? m : sm / (k * k));
  }
  return y;
}

const cases = [{ s: 1, pad: 0 }, { s: 2, pad: 1 }, { s: 1, pad: 1 }];

test('conv2d forward matches the loop reference (stride, padding, tiled input)', () => {
  const r = rand(3), xs = [2, 3, 5, 6], ws = [4, 3, 3, 2];
  const x = randArr(180, r), w = randArr(72, r), b = randArr(4, r);
  for (const { s, pad } of cases) {
    const y = nn.conv2d(tensor(x, { shape: xs, dtype: 'float64', tile: [1, 2, 5, 6] }), tensor(w, { shape: ws, dtype: 'float64' }), tensor(b, { shape: [4], dtype: 'float64' }), { stride: s, padding: pad });
    const ref = convRef(x, xs, w, ws, b, s, pad);
    assert.deepEqual(y.shape, ref.shape);
    close(y.dataSync(), ref.y, 1e-12, `conv s=${s} p=${pad}`);
  }
});

test('conv2d gradients (input, weight, bias) match finite differences', () => {
  const r = rand(4), xs = [1, 2, 4, 5], ws = [3, 2, 2, 3];
  const gw = randArr(100, r); // fixed upstream weights for a non-trivial scalar
  for (const { s, pad } of cases) {
    const f = (x: Tensor, w: Tensor, b: Tensor) => { const y = nn.conv2d(x, w, b, { stride: s, padding: pad }); return sum(mul(mul(y, y), tensor(gw.slice(0, y.shape.reduce((p, q) => p * q, 1)), { shape: y.shape, dtype: 'float64' }))); };
    checkGrad(f, [xs, ws, [3]], [randArr(40, r), randArr(36, r), randArr(3, r)]);
  }
});

test('grouped conv2d (groups 2 and 3, depthwise) matches the loop reference and finite differences', () => {
  const r = rand(8);
  for (const [G, C, O] of [[2, 4, 6], [3, 3, 3], [3, 6, 3]] as const) {
    const xs = [2, C, 5, 4], ws = [O, C / G, 3, 2];
    const x = randArr(xs.reduce((p, q) => p * q, 1), r), w = randArr(ws.reduce((p, q) => p * q, 1), r);
    const y = nn.conv2d(tensor(x, { shape: xs, dtype: 'float64' }), tensor(w, { shape: ws, dtype: 'float64' }), undefined, { stride: 2, padding: 1, groups: G });
    const ref = convRef(x, xs, w, ws, null, 2, 1, G);
    assert.deepEqual(y.shape, ref.shape);
    close(y.dataSync(), ref.y, 1e-12, `groups ${G}`);
    checkGrad((a: Tensor, b: Tensor) => { const z = nn.conv2d(a, b, undefined, { stride: 2, padding: 1, groups: G }); return sum(mul(z, z)); }, [xs, ws], [x, w]);
  }
  assert.throws(() => nn.conv2d(tensor(randArr(40, r), { shape: [1, 4, 2, 5], dtype: 'float64' }), tensor(randArr(18, r), { shape: [3, 2, 1, 3], dtype: 'float64' }), undefined, { groups: 2 }), /groups = 2/);
});

test('max and average pooling match the loop reference; padding never wins a max', () => {
  const r = rand(5), xs = [2, 2, 5, 5];
  const x = randArr(100, r).map((v) => v - 3); // all negative: a zero pad would win a max
  for (const { s, pad } of cases) {
    const t = tensor(x, { shape: xs, dtype: 'float64' });
    close(nn.maxPool2d(t, { kernel: 3, stride: s, padding: pad }).dataSync(), poolRef(x, xs, 3, s, pad, 'max'), 1e-12, `max s=${s} p=${pad}`);
    close(nn.avgPool2d(t, { kernel: 3, stride: s, padding: pad }).dataSync(), poolRef(x, xs, 3, s, pad, 'avg'), 1e-12, `avg s=${s} p=${pad}`);
  }
});

test('pooling gradients match finite differences', () => {
  const r = rand(6), xs = [1, 2, 4, 4], up = randArr(100, r);
  for (const kind of ['max', 'avg'] as const) for (const { s, pad } of cases) {
    const f = (x: Tensor) => { const y = (kind === 'max' ? nn.maxPool2d : nn.avgPool2d)(x, { kernel: 2, stride: s, padding: pad }); return sum(mul(y, tensor(up.slice(0, y.shape.reduce((p, q) => p * q, 1)), { shape: y.shape, dtype: 'float64' }))); };
    checkGrad(f, [xs], [randArr(32, r)]);
  }
});

test('Conv2d names the layer and shapes on a channel mismatch', () => {
  const conv = new nn.Conv2d(3, 4, 3);
  assert.throws(() => conv.forward(conv.tensors('float64'), tensor(new Float64Array(2 * 2 * 5 * 5), { shape: [2, 2, 5, 5], dtype: 'float64' })), (e: Error) => e.name === 'ShapeError' && /Conv2d/.test(e.message) && /2,2,5,5/.test(e.message));
});
