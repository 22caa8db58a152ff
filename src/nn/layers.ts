/** Layers as Modules over the functional ops. Parameter layouts follow PyTorch ([out, in] weights). */
import { OptionError, ShapeError } from '../errors.js';
import { einsum } from '../frontend/einsum/lower.js';
import { add, mul, relu, sigmoid, tanh } from '../frontend/ops/elementwise.js';
import { mean } from '../frontend/ops/reduce.js';
import { reshape } from '../frontend/ops/shape.js';
import { fromRelation, tensor, type Tensor } from '../frontend/tensor.js';
import { mulberry32 } from '../data/loader.js';
import { makeTile } from '../tile.js';
import { Relation } from '../tra/relation.js';
import { denseSchema } from '../tra/schema.js';
import { avgPool2d, conv2d, type Conv2dOptions, gelu, layerNorm, leakyRelu, maxPool2d, normalize, silu, type Window2d } from './functional.js';
import { initValues, type Init } from './init.js';
import { Module, size, stepInput, type Params } from './module.js';

export interface LinearOptions { bias?: boolean; init?: Init; seed?: number }

export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super('Linear');
    this.addParam('weight', [outFeatures, inFeatures], initValues(opts.init ?? 'kaimingUniform', [outFeatures, inFeatures], opts.seed ?? 1, 1));
    if (opts.bias ?? true) this.addParam('bias', [outFeatures], initValues('zeros', [outFeatures], 0));
  }
  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) throw new ShapeError(`Linear(${this.inFeatures}, ${this.outFeatures}): input shape [${x.shape}], want [B, ${this.inFeatures}]`, { layer: 'Linear', shape: x.shape });
    const y = einsum('bi,oi->bo', x, this.param(p, prefix, 'weight'));
    return this.own.bias ? add(y, this.param(p, prefix, 'bias')) : y;
  }
}

export class Conv2d extends Module {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number | [number, number],
    readonly opts: Conv2dOptions & { bias?: boolean; init?: Init; seed?: number } = {}) {
    super('Conv2d');
    const groups = opts.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new ShapeError(`Conv2d(${inChannels}, ${outChannels}): groups = ${groups} must be a positive integer dividing both channel counts`, { layer: 'Conv2d', groups });
    }
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel, shape = [outChannels, inChannels / groups, kh, kw];
    this.addParam('weight', shape, initValues(opts.init ?? 'kaimingUniform', shape, opts.seed ?? 1, 1));
    if (opts.bias ?? true) this.addParam('bias', [outChannels], initValues('zeros', [outChannels], 0));
  }
  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    return conv2d(x, this.param(p, prefix, 'weight'), this.own.bias ? this.param(p, prefix, 'bias') : undefined, this.opts);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly window: Window2d) { super('MaxPool2d'); }
  forward(_p: Params, x: Tensor): Tensor { return maxPool2d(x, this.window); }
}
export class AvgPool2d extends Module {
  constructor(readonly window: Window2d) { super('AvgPool2d'); }
  forward(_p: Params, x: Tensor): Tensor { return avgPool2d(x, this.window); }
}

const ACTIVATIONS = { relu, tanh, sigmoid, gelu, silu, leakyRelu: (x: Tensor) => leakyRelu(x) } as const;
export class Activation extends Module {
  constructor(readonly fn: keyof typeof ACTIVATIONS) {
    super(fn);
    if (!(fn in ACTIVATIONS)) throw new OptionError('activation', `unknown activation '${fn}'`);
  }
  forward(_p: Params, x: Tensor): Tensor { return ACTIVATIONS[this.fn](x); }
}

/**
 * Inverted dropout: in training, x·mask/(1-p) with a fresh seeded Bernoulli mask per call, bound as a
 * constant tensor (so the plan itself stays deterministic and differentiable); identity in eval.
 */
export class Dropout extends Module {
  private calls = 0;
  constructor(readonly p: number, readonly seed = 1) {
    super('Dropout');
    if (!(p >= 0 && p < 1)) throw new OptionError('p', `Dropout: p must lie in [0, 1), got ${p}`);
  }
  mask(shape: readonly number[]): Float64Array {
    const rnd = mulberry32(this.seed * 7919 + this.calls++);
    return Float64Array.from({ length: size(shape) }, () => (rnd() < this.p ? 0 : 1 / (1 - this.p)));
  }
  forward(_p: Params, x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    // Compiled plans take the mask as a per-step input (a fresh draw each step); eager runs draw it now.
    const m = stepInput(x.shape, () => this.mask(x.shape), { dtype: x.dtype, tile: x.tile });
    return mul(x, m ?? tensor(this.mask(x.shape), { shape: x.shape, tile: x.tile, dtype: x.dtype }));
  }
}

export class LayerNorm extends Module {
  constructor(readonly features: number, readonly eps = 1e-5) {
    super('LayerNorm');
    this.addParam('weight', [features], initValues('ones', [features], 0));
    this.addParam('bias', [features], initValues('zeros', [features], 0));
  }
  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    if (x.shape[x.rank - 1] !== this.features) throw new ShapeError(`LayerNorm(${this.features}): input shape [${x.shape}] must end in ${this.features}`, { layer: 'LayerNorm', shape: x.shape });
    return layerNorm(x, this.param(p, prefix, 'weight'), this.param(p, prefix, 'bias'), this.eps);
  }
}

/**
 * BatchNorm over [N, C] or [N, C, H, W]. Training normalises with the batch's (biased) statistics, which
 * are also plan outputs: the trainer feeds them back to `pendingAux` and the running averages (unbiased
 * variance, like PyTorch) are updated outside the plan. Eval uses the running statistics as constants.
 */
export class BatchNorm extends Module {
  runningMean: Float64Array;
  runningVar: Float64Array;
  constructor(readonly channels: number, readonly opts: { eps?: number; momentum?: number } = {}) {
    super('BatchNorm');
    this.addParam('weight', [channels], initValues('ones', [channels], 0));
    this.addParam('bias', [channels], initValues('zeros', [channels], 0));
    this.runningMean = new Float64Array(channels);
    this.runningVar = new Float64Array(channels).fill(1);
  }
  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    if ((x.rank !== 2 && x.rank !== 4) || x.shape[1] !== this.channels) throw new ShapeError(`BatchNorm(${this.channels}): input shape [${x.shape}], want [N, ${this.channels}] or [N, ${this.channels}, H, W]`, { layer: 'BatchNorm', shape: x.shape });
    const axes = x.rank === 2 ? [0] : [0, 2, 3], bshape = x.rank === 2 ? [this.channels] : [this.channels, 1, 1], eps = this.opts.eps ?? 1e-5;
    const gamma = reshape(this.param(p, prefix, 'weight'), bshape), beta = reshape(this.param(p, prefix, 'bias'), bshape);
    let mu: Tensor, v: Tensor;
    if (this.training) {
      mu = mean(x, axes, true);
      const d = add(x, mul(mu, -1));
      v = mean(mul(d, d), axes, true);
      const n = size(x.shape) / this.channels, m = this.opts.momentum ?? 0.1;
      this.pendingAux.push({
        tensors: { mean: reshape(mu, [this.channels]), var: reshape(v, [this.channels]) },
        apply: (vals) => {
          for (let c = 0; c < this.channels; c++) {
            this.runningMean[c] = (1 - m) * this.runningMean[c]! + m * vals.mean![c]!;
            this.runningVar[c] = (1 - m) * this.runningVar[c]! + m * vals.var![c]! * (n / Math.max(n - 1, 1));
          }
        },
      });
    } else {
      const stat = (a: Float64Array) => tensor(a, { shape: [1, ...bshape], dtype: x.dtype });
      mu = stat(this.runningMean); v = stat(this.runningVar);
    }
    return add(mul(normalize(x, mu, v, eps), gamma), beta);
  }
}

/**
 * Embedding lookup as a relational join: the ids become a sparse one-hot relation [B, V] with 1x1 tiles
 * (one tuple per id), and the table is tiled by rows, so the table's gradient only has the rows looked up.
 * `forward` takes the ids via `lookup`; the tensor argument form takes that one-hot relation directly.
 */
export class Embedding extends Module {
  constructor(readonly vocab: number, readonly dim: number, opts: { seed?: number } = {}) {
    super('Embedding');
    this.addParam('weight', [vocab, dim], initValues('kaimingNormal', [vocab, dim], opts.seed ?? 1, 1), [1, dim]);
  }
  oneHot(ids: readonly number[], dtype: 'float32' | 'float64' = 'float32'): Tensor {
    const rel = new Relation(denseSchema([ids.length, this.vocab], [1, 1], dtype), 'ids');
    ids.forEach((v, b) => {
      if (!Number.isInteger(v) || v < 0 || v >= this.vocab) throw new ShapeError(`Embedding(${this.vocab}, ${this.dim}): id ${v} at position ${b} is outside [0, ${this.vocab})`, { layer: 'Embedding' });
      rel.set([b, v], makeTile([1, 1], dtype, [1]));
    });
    return fromRelation(rel);
  }
  forward(p: Params, onehot: Tensor, prefix = ''): Tensor {
    if (onehot.rank !== 2 || onehot.shape[1] !== this.vocab) throw new ShapeError(`Embedding(${this.vocab}, ${this.dim}): one-hot input shape [${onehot.shape}], want [B, ${this.vocab}]`, { layer: 'Embedding', shape: onehot.shape });
    return einsum('bv,vd->bd', onehot, this.param(p, prefix, 'weight'));
  }
}

/** [N, d1, d2, ...] -> [N, d1·d2·...]. */
export class Flatten extends Module {
  constructor() { super('Flatten'); }
  forward(_p: Params, x: Tensor): Tensor {
    return x.rank === 2 ? x : reshape(x, [x.shape[0]!, size(x.shape.slice(1))]);
  }
}
