/**
 * Multi-head self-attention (Vaswani et al.), written as einsums over the relational engine:
 * qkv = x·W_inᵀ + b_in; per head, softmax(q·kᵀ/√d [+ causal mask])·v; y = concat(heads)·W_outᵀ + b_out.
 * Parameter names and layouts follow PyTorch's nn.MultiheadAttention (in_proj_weight [3E, E],
 * in_proj_bias [3E], out_proj.weight [E, E], out_proj.bias [E]); input is batch-first [B, T, E].
 */
import { OptionError, ShapeError } from '../errors.js';
import { einsum } from '../frontend/einsum/lower.js';
import { add, mul } from '../frontend/ops/elementwise.js';
import { softmax } from '../frontend/ops/reduce.js';
import { reshape, slice } from '../frontend/ops/shape.js';
import { tensor, type Tensor } from '../frontend/tensor.js';
import { initValues } from './init.js';
import { Module, type Params } from './module.js';

export interface AttentionOptions { bias?: boolean; causal?: boolean; seed?: number }

/** Large negative but finite, so masked scores vanish in softmax without tripping finiteness checks. */
const MASKED = -1e9;

export class MultiheadAttention extends Module {
  readonly headDim: number;
  constructor(readonly embedDim: number, readonly numHeads: number, readonly opts: AttentionOptions = {}) {
    super('MultiheadAttention');
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) {
      throw new OptionError('numHeads', `MultiheadAttention: embedDim ${embedDim} must be a positive multiple of numHeads ${numHeads}`);
    }
    this.headDim = embedDim / numHeads;
    const seed = opts.seed ?? 1;
    this.addParam('in_proj_weight', [3 * embedDim, embedDim], initValues('xavierUniform', [3 * embedDim, embedDim], seed, 1));
    this.addParam('out_proj.weight', [embedDim, embedDim], initValues('xavierUniform', [embedDim, embedDim], seed + 1, 1));
    if (opts.bias ?? true) {
      this.addParam('in_proj_bias', [3 * embedDim], initValues('zeros', [3 * embedDim], 0));
      this.addParam('out_proj.bias', [embedDim], initValues('zeros', [embedDim], 0));
    }
  }

  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    const E = this.embedDim, H = this.numHeads, D = this.headDim;
    if (x.rank !== 3 || x.shape[2] !== E) throw new ShapeError(`MultiheadAttention(${E}, ${H}): input shape [${x.shape}], want [B, T, ${E}]`, { layer: 'MultiheadAttention', shape: x.shape });
    const [B, T] = x.shape as [number, number];
    const bias = this.opts.bias ?? true;
    let qkv = einsum('bte,fe->btf', x, this.param(p, prefix, 'in_proj_weight'));
    if (bias) qkv = add(qkv, this.param(p, prefix, 'in_proj_bias'));
    const part = (i: number) => reshape(slice(qkv, [0, 0, i * E], [B, T, E]), [B, T, H, D]);
    let scores = mul(einsum('bqhd,bkhd->bhqk', part(0), part(1)), 1 / Math.sqrt(D));
    if (this.opts.causal) {
      const mask = Array.from({ length: T * T }, (_, n) => (n % T > Math.floor(n / T) ? MASKED : 0));
      scores = add(scores, tensor(mask, { shape: [T, T], dtype: x.dtype }));
    }
    const heads = einsum('bhqk,bkhd->bqhd', softmax(scores, -1), part(2));
    let y = einsum('bte,fe->btf', reshape(heads, [B, T, E]), this.param(p, prefix, 'out_proj.weight'));
    if (bias) y = add(y, this.param(p, prefix, 'out_proj.bias'));
    return y;
  }
}
