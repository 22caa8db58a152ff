/** Multi-head self-attention: forward against plain float64 loops (with and without the causal mask), gradients against finite differences. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { einsum, tensor, type Tensor } from '../../src/index.js';
import { MultiheadAttention } from '../../src/nn/attention.js';
import { OptionError } from '../../src/errors.js';
import { checkGrad, close, rand, randArr } from './fd.js';

/** softmax(q kᵀ/√d) v per head, then the output projection, with plain loops. */
function reference(x: Float64Array, B: number, T: number, E: number, H: number, Win: Float64Array, bin: Float64Array, Wout: Float64Array, bout: Float64Array, causal: boolean): Float64Array {
  const D = E / H, qkv = new Float64Array(B * T * 3 * E), heads = new Float64Array(B * T * E), y = new Float64Array(B * T * E);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let f = 0; f < 3 * E; f++) {
    let s = bin[f]!;
    for (let e = 0; e < E; e++) s += x[(b * T + t) * E + e]! * Win[f * E + e]!;
    qkv[(b * T + t) * 3 * E + f] = s;
  }
  const at = (b: number, t: number, which: number, h: number, d: number) => qkv[(b * T + t) * 3 * E + which * E + h * D + d]!;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let q = 0; q < T; q++) {
    const sc = Array.from({ length: T }, (_, k) => {
      let s = 0;
      for (let d = 0; d < D; d++) s += at(b, q, 0, h, d) * at(b, k, 1, h, d);
      return causal && k > q ? -Infinity : s / Math.sqrt(D);
    });
    const m = Math.max(...sc), ex = sc.map((s) => Math.exp(s - m)), z = ex.reduce((a, c) => a + c, 0);
    for (let d = 0; d < D; d++) heads[(b * T + q) * E + h * D + d] = ex.reduce((a, w, k) => a + (w / z) * at(b, k, 2, h, d), 0);
  }
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let o = 0; o < E; o++) {
    let s = bout[o]!;
    for (let e = 0; e < E; e++) s += heads[(b * T + t) * E + e]! * Wout[o * E + e]!;
    y[(b * T + t) * E + o] = s;
  }
  return y;
}

const B = 2, T = 3, E = 4, H = 2;
const t64 = (d: Float64Array, shape: number[]) => tensor(d, { shape, dtype: 'float64' });

for (const causal of [false, true]) {
  test(`MultiheadAttention forward matches float64 loops (causal ${causal}) and its gradients match finite differences`, () => {
    const r = rand(causal ? 7 : 3);
    const x = randArr(B * T * E, r), Win = randArr(3 * E * E, r), bin = randArr(3 * E, r), Wout = randArr(E * E, r), bout = randArr(E, r);
    const mha = new MultiheadAttention(E, H, { causal });
    const params = (w: Tensor, b1: Tensor, w2: Tensor, b2: Tensor) => ({ in_proj_weight: w, in_proj_bias: b1, 'out_proj.weight': w2, 'out_proj.bias': b2 });
    const got = mha.forward(params(t64(Win, [3 * E, E]), t64(bin, [3 * E]), t64(Wout, [E, E]), t64(bout, [E])), t64(x, [B, T, E])).dataSync();
    close(got, reference(x, B, T, E, H, Win, bin, Wout, bout, causal), 1e-12, 'attention');
    const up = randArr(B * T * E, r);
    checkGrad((xx, w, b1, w2, b2) => {
      const y = mha.forward(params(w!, b1!, w2!, b2!), xx!);
      return sumWeighted(y, up);
    }, [[B, T, E], [3 * E, E], [3 * E], [E, E], [E]], [x, Win, bin, Wout, bout]);
  });
}

/** <y, w>: a scalar whose gradient is w pushed back through the layer. */
function sumWeighted(y: Tensor, w: Float64Array): Tensor {
  return einsum('bte,bte->', y, tensor(w, { shape: y.shape, dtype: 'float64' }));
}

test('MultiheadAttention refuses a head count that does not divide the width, and inputs of the wrong shape', () => {
  assert.throws(() => new MultiheadAttention(6, 4), OptionError);
  const mha = new MultiheadAttention(4, 2);
  assert.throws(() => mha.forward(mha.tensors('float64'), tensor(new Float64Array(8), { shape: [2, 4], dtype: 'float64' })), /want \[B, T, 4\]/);
});
