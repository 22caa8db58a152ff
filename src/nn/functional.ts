/**
 * Stateless layer functions over the public front-end ops. The window ops (conv, pooling) go through
 * the im2col tile kernel, which needs each image whole in one tile, so they re-tile H and W first.
 */
import '../kernels/conv.js';
import { ShapeError } from '../errors.js';
import { einsum } from '../frontend/einsum/lower.js';
import { add, div, exp, log, maximum, mul, sigmoid, sqrt, sub, tanh } from '../frontend/ops/elementwise.js';
import { logSoftmax, max, mean, sum } from '../frontend/ops/reduce.js';
import { reshape, retile } from '../frontend/ops/shape.js';
import { Tensor, tensor } from '../frontend/tensor.js';
import * as tra from '../tra/build.js';

export interface Window2d { kernel: number | [number, number]; stride?: number | [number, number]; padding?: number | [number, number] }
const two = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** [..., H, W] -> [..., OH, OW, KH*KW]; taps outside the image read `fill`. */
export function im2col(x: Tensor, w: Window2d, fill = 0, layer = 'im2col'): Tensor {
  if (x.rank < 2) throw new ShapeError(`${layer}: input must end in (H, W), got shape [${x.shape}]`, { layer, shape: x.shape });
  const [kh, kw] = two(w.kernel), [sh, sw] = two(w.stride ?? w.kernel), [ph, pw] = two(w.padding ?? 0);
  const [H, W] = x.shape.slice(-2) as [number, number];
  if (Math.floor((H + 2 * ph - kh) / sh) < 0 || Math.floor((W + 2 * pw - kw) / sw) < 0) {
    throw new ShapeError(`${layer}: window ${kh}x${kw} with padding ${ph},${pw} does not fit input [${x.shape}]`, { layer, shape: x.shape });
  }
  const whole = x.tile.slice(-2).every((t, i) => t === x.shape[x.rank - 2 + i]) ? x : retile(x, [...x.tile.slice(0, -2), H, W]);
  const cols = tra.map(whole.node, { name: 'im2col', attrs: { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], fill } });
  // The tile gains a trailing window axis; give it a bound-1 key so the relation stays a dense tensor.
  return new Tensor(tra.rekey(cols, [...x.shape.map((_, i) => i), null]));
}

/** x [N, C, H, W], weight [O, C, KH, KW], bias [O] -> [N, O, OH, OW]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | undefined, opts: { stride?: number | [number, number]; padding?: number | [number, number] } = {}): Tensor {
  const [O, C, KH, KW] = weight.shape as [number, number, number, number];
  if (x.rank !== 4 || weight.rank !== 4 || x.shape[1] !== C) throw new ShapeError(`Conv2d: input [${x.shape}] does not match weight [${weight.shape}] (want [N, ${C}, H, W])`, { layer: 'Conv2d', input: x.shape, weight: weight.shape });
  const cols = im2col(x, { kernel: [KH, KW], stride: opts.stride ?? 1, padding: opts.padding ?? 0 }, 0, 'Conv2d');
  const y = einsum('ncpqk,ock->nopq', cols, reshape(weight, [O, C, KH * KW]));
  return bias ? add(y, reshape(bias, [O, 1, 1])) : y;
}

/** Max pooling; padding reads as -3.4e38 (finite, below any float32) so a pad tap never wins. */
export function maxPool2d(x: Tensor, w: Window2d): Tensor {
  return max(im2col(x, w, -3.4e38, 'MaxPool2d'), -1);
}
/** Average pooling; padded taps count as zeros in the mean (PyTorch's count_include_pad=True). */
export function avgPool2d(x: Tensor, w: Window2d): Tensor {
  return mean(im2col(x, w, 0, 'AvgPool2d'), -1);
}

export const leakyRelu = (x: Tensor, slope = 0.01) => maximum(x, mul(x, slope));
export const silu = (x: Tensor) => mul(x, sigmoid(x));
/** log(1 + e^x), written as max(x,0) + log(1 + e^-|x|) so it never overflows. */
export const softplus = (x: Tensor) => add(maximum(x, 0), log(add(exp(mul(maximum(x, mul(x, -1)), -1)), 1)));
/** GELU, tanh approximation. */
export const gelu = (x: Tensor) => mul(mul(x, 0.5), add(tanh(mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI))), 1));

/** Normalises over `axes` with the given mean and variance, then scales and shifts. */
export function normalize(x: Tensor, mu: Tensor, v: Tensor, eps: number): Tensor {
  return div(sub(x, mu), sqrt(add(v, eps)));
}

export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const mu = mean(x, -1, true), v = mean(mul(sub(x, mu), sub(x, mu)), -1, true);
  return add(mul(normalize(x, mu, v, eps), gamma), beta);
}

/** Mean cross entropy of integer labels against logits [B, C], with label smoothing eps (targets (1-eps)·onehot + eps/C). */
export function crossEntropy(logits: Tensor, labels: readonly number[], opts: { labelSmoothing?: number } = {}): Tensor {
  const [B, C] = logits.shape as [number, number];
  const eps = opts.labelSmoothing ?? 0;
  if (logits.rank !== 2 || labels.length !== B) throw new ShapeError(`crossEntropy: logits [${logits.shape}] need shape [${labels.length}, C]`, { layer: 'crossEntropy', shape: logits.shape });
  if (!(eps >= 0 && eps < 1)) throw new ShapeError(`crossEntropy: labelSmoothing must lie in [0, 1), got ${eps}`);
  const q = new Float64Array(B * C).fill(eps / C);
  labels.forEach((y, b) => {
    if (!Number.isInteger(y) || y < 0 || y >= C) throw new ShapeError(`crossEntropy: label ${y} at ${b} is outside [0, ${C})`, { layer: 'crossEntropy' });
    q[b * C + y] += 1 - eps;
  });
  const target = tensor(q, { shape: [B, C], dtype: logits.dtype, tile: logits.tile });
  return mul(mean(sum(mul(logSoftmax(logits, 1), target), 1)), -1);
}

export function mse(pred: Tensor, target: Tensor): Tensor {
  if (pred.shape.join() !== target.shape.join()) throw new ShapeError(`mse: prediction [${pred.shape}] and target [${target.shape}] differ`, { layer: 'mse' });
  const d = sub(pred, target);
  return mean(mul(d, d));
}
