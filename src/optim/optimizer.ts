/**
 * Optimisers update parameters in place on their typed arrays, outside any plan. Frozen parameters and
 * parameters without a gradient are skipped; masked entries have their gradient zeroed before the update
 * and their value re-zeroed after it, so weight decay or momentum cannot revive a pruned weight.
 */
import { OptionError, ShapeError } from '../errors.js';
import type { Param } from '../nn/module.js';
import type { TileData } from '../tile.js';

export type Grads = Record<string, ArrayLike<number>>;

export abstract class Optimizer {
  protected readonly state = new Map<string, Record<string, Float64Array>>();
  private readonly scratch = new Map<string, Float64Array>();
  /** Number of completed steps (Adam's bias correction uses it). */
  t = 0;
  constructor(readonly lr: number) { checkPositive('lr', lr, true); }

  /** The optimiser's state (step count and per-parameter buffers, by parameter name), for checkpoints. */
  stateDict(): { t: number; state: Record<string, Record<string, Float64Array>> } {
    return { t: this.t, state: Object.fromEntries([...this.state].map(([n, s]) => [n, { ...s }])) };
  }

  /** Restores a stateDict(); buffers must match the parameters' sizes (checked against `params` when given). */
  loadStateDict(sd: { t: number; state: Record<string, Record<string, Float64Array>> }, params?: Record<string, Param>): void {
    if (!Number.isSafeInteger(sd.t) || sd.t < 0) throw new OptionError('optimizer state', `step count must be a non-negative integer, got ${sd.t}`);
    for (const [name, s] of Object.entries(sd.state)) {
      const p = params?.[name];
      if (params && !p) throw new ShapeError(`${this.constructor.name}: state for unknown parameter '${name}'`, { param: name });
      for (const [k, v] of Object.entries(s)) {
        if (p && v.length !== p.data.length) throw new ShapeError(`${this.constructor.name}: state '${k}' of ${name} has ${v.length} values, parameter shape [${p.shape}]`, { param: name, shape: [...p.shape] });
      }
    }
    this.t = sd.t;
    this.state.clear();
    for (const [name, s] of Object.entries(sd.state)) this.state.set(name, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Float64Array.from(v)])));
  }

  /** Applies one update with learning rate `lr` (default the constructor's; pass a schedule's value). */
  step(params: Record<string, Param>, grads: Grads, lr = this.lr): void {
    this.t++;
    for (const [name, p] of Object.entries(params)) {
      const g = grads[name];
      if (p.frozen || !g) continue;
      if (g.length !== p.data.length) throw new ShapeError(`${this.constructor.name}: gradient for ${name} has ${g.length} values, parameter shape [${p.shape}]`, { param: name, shape: [...p.shape] });
      let s = this.state.get(name);
      if (!s) this.state.set(name, (s = {}));
      // The gradient is read in place; only a masked one is copied, into a reused scratch buffer (a fresh
      // array per step, or Float64Array.from with a map callback, cost more than the update itself).
      let gm: ArrayLike<number> = g;
      const mask = p.mask;
      if (mask) {
        let m = this.scratch.get(name);
        if (!m || m.length !== g.length) this.scratch.set(name, (m = new Float64Array(g.length)));
        for (let i = 0; i < m.length; i++) m[i] = g[i]! * mask[i]!;
        gm = m;
      }
      this.update(p.data, gm, s, lr);
      if (p.mask) for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! * p.mask[i]!;
    }
  }
  protected abstract update(w: TileData, g: ArrayLike<number>, s: Record<string, Float64Array>, lr: number): void;
}

export function checkPositive(name: string, v: number, strict = false): void {
  if (!Number.isFinite(v) || v < 0 || (strict && v === 0)) throw new OptionError(name, `must be a ${strict ? 'positive' : 'non-negative'} finite number, got ${v}`);
}

const buf = (s: Record<string, Float64Array>, k: string, n: number) => (s[k] ??= new Float64Array(n));

/** SGD with (optionally Nesterov) momentum and L2 weight decay, as torch.optim.SGD (dampening 0). */
export class SGD extends Optimizer {
  constructor(lr: number, readonly opts: { momentum?: number; nesterov?: boolean; weightDecay?: number } = {}) {
    super(lr);
    checkPositive('momentum', opts.momentum ?? 0); checkPositive('weightDecay', opts.weightDecay ?? 0);
    if (opts.nesterov && !(opts.momentum! > 0)) throw new OptionError('nesterov', 'SGD: Nesterov needs momentum > 0');
  }
  protected update(w: TileData, g: ArrayLike<number>, s: Record<string, Float64Array>, lr: number): void {
    // Branches hoisted out of the loops (same arithmetic as the one-loop form); plain SGD keeps no buffer.
    const mu = this.opts.momentum ?? 0, wd = this.opts.weightDecay ?? 0, n = w.length;
    if (!(mu > 0)) {
      for (let i = 0; i < n; i++) w[i] = w[i]! - lr * (g[i]! + wd * w[i]!);
      return;
    }
    const first = !s.v, v = buf(s, 'v', n), nesterov = !!this.opts.nesterov;
    for (let i = 0; i < n; i++) {
      const d = g[i]! + wd * w[i]!;
      const vi = first ? d : mu * v[i]! + d;
      v[i] = vi;
      w[i] = w[i]! - lr * (nesterov ? d + mu * vi : vi);
    }
  }
}

/**
 * Adam (Kingma & Ba, Algorithm 1) with L2 weight decay folded into the gradient; AdamW (Loshchilov &
 * Hutter) instead decays the weight directly by lr·wd, decoupled from the adaptive scaling.
 */
export class Adam extends Optimizer {
  protected decoupled = false;
  constructor(lr = 1e-3, readonly opts: { beta1?: number; beta2?: number; eps?: number; weightDecay?: number } = {}) {
    super(lr);
    for (const b of ['beta1', 'beta2'] as const) { const v = opts[b]; if (v !== undefined && !(v >= 0 && v < 1)) throw new OptionError(b, `must lie in [0, 1), got ${v}`); }
    checkPositive('eps', opts.eps ?? 1e-8); checkPositive('weightDecay', opts.weightDecay ?? 0);
  }
  protected update(w: TileData, g: ArrayLike<number>, s: Record<string, Float64Array>, lr: number): void {
    const b1 = this.opts.beta1 ?? 0.9, b2 = this.opts.beta2 ?? 0.999, eps = this.opts.eps ?? 1e-8, wd = this.opts.weightDecay ?? (this.decoupled ? 1e-2 : 0);
    const m = buf(s, 'm', w.length), v = buf(s, 'v', w.length), c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    const decoupled = this.decoupled, n = w.length;
    for (let i = 0; i < n; i++) {
      if (decoupled) w[i] = w[i]! * (1 - lr * wd);
      const gi = decoupled ? g[i]! : g[i]! + wd * w[i]!;
      m[i] = b1 * m[i]! + (1 - b1) * gi;
      v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
      w[i] = w[i]! - (lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
    }
  }
}

export class AdamW extends Adam {
  protected override decoupled = true;
}

/** Scales all gradients in place so their global L2 norm is at most maxNorm; returns the norm before clipping. */
export function clipGradNorm(grads: Record<string, TileData | Float64Array>, maxNorm: number): number {
  checkPositive('maxNorm', maxNorm, true);
  let sq = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  if (norm > maxNorm) {
    const k = maxNorm / (norm + 1e-6); // torch's epsilon, so a norm of exactly maxNorm is a no-op
    for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i] = g[i]! * k;
  }
  return norm;
}
