/**
 * Stateless layer functions over the public front-end ops. Convolution and max pooling are tile kernels
 * (kernels/conv2d.ts); average pooling goes through im2col. Window ops need whole images in a tile, so
 * they re-tile first.
 */
import '../kernels/conv.js';
import '../kernels/conv2d.js';
import { ShapeError } from '../errors.js';
import { add, div, exp, log, maximum, mul, sigmoid, sqrt, sub, tanh } from '../frontend/ops/elementwise.js';
import { logSoftmax, mean, sum } from '../frontend/ops/reduce.js';
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

/** Re-tiles x so each tile holds the trailing `whole` dims entirely (a window op needs whole images). */
function wholeTrailing(x: Tensor, whole: number): Tensor {
  const keep = x.tile.slice(0, x.rank - whole), want = [...keep, ...x.shape.slice(x.rank - whole)];
  return want.every((t, i) => t === x.tile[i]) ? x : retile(x, want);
}

export interface Conv2dOptions { stride?: number | [number, number]; padding?: number | [number, number]; groups?: number }

/**
 * x [N, C, H, W], weight [O, C/groups, KH, KW], bias [O] -> [N, O, OH, OW]. One conv2d kernel call per
 * batch tile: a join of each image tile with the weight tile (on the channel key, bound 1), re-keyed to
 * the output's (n, o) keys. Its gradients are the conv2dGradInput / conv2dGradWeight kernels.
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | undefined, opts: Conv2dOptions = {}): Tensor {
  const groups = opts.groups ?? 1;
  const [O, Cg, KH, KW] = weight.shape as [number, number, number, number];
  if (!Number.isInteger(groups) || groups < 1 || O % groups !== 0) throw new ShapeError(`Conv2d: groups = ${groups} must be a positive integer dividing the ${O} filters`, { layer: 'Conv2d', groups });
  if (x.rank !== 4 || weight.rank !== 4 || x.shape[1] !== Cg * groups) {
    throw new ShapeError(`Conv2d: input [${x.shape}] does not match weight [${weight.shape}] with groups ${groups} (want [N, ${Cg * groups}, H, W])`, { layer: 'Conv2d', input: x.shape, weight: weight.shape });
  }
  const [, C, H, W] = x.shape as [number, number, number, number];
  const [sh, sw] = two(opts.stride ?? 1), [ph, pw] = two(opts.padding ?? 0);
  if (H + 2 * ph < KH || W + 2 * pw < KW) throw new ShapeError(`Conv2d: kernel ${KH}x${KW} with padding ${ph},${pw} does not fit input [${x.shape}]`, { layer: 'Conv2d', shape: x.shape });
  const attrs = { image: [H, W], kernel: [KH, KW], stride: [sh, sw], padding: [ph, pw], groups, channels: C, filters: O };
  const xs = wholeTrailing(x, 3), ws = wholeTrailing(weight, 4);
  // Output keys: (n, 1, 1, 1, o, 1, 1); keep n and the weight's filter key, drop the bound-1 rest.
  const y = new Tensor(tra.rekey(tra.join(xs.node, ws.node, [[1, 1]], { name: 'conv2d', attrs }), [0, 4, 2, 3]));
  return bias ? add(y, reshape(bias, [O, 1, 1])) : y;
}

/** Max pooling over the last two dims; padding never wins (PyTorch's semantics, padding at most half the window). */
export function maxPool2d(x: Tensor, w: Window2d): Tensor {
  if (x.rank < 2) throw new ShapeError(`MaxPool2d: input must end in (H, W), got shape [${x.shape}]`, { layer: 'MaxPool2d', shape: x.shape });
  const [kh, kw] = two(w.kernel), [sh, sw] = two(w.stride ?? w.kernel), [ph, pw] = two(w.padding ?? 0);
  const [H, W] = x.shape.slice(-2) as [number, number];
  if (2 * ph > kh || 2 * pw > kw || H + 2 * ph < kh || W + 2 * pw < kw) {
    throw new ShapeError(`MaxPool2d: window ${kh}x${kw} with padding ${ph},${pw} does not fit input [${x.shape}] (padding must be at most half the window)`, { layer: 'MaxPool2d', shape: x.shape });
  }
  return new Tensor(tra.map(wholeTrailing(x, 2).node, { name: 'maxPool2d', attrs: { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw] } }));
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
