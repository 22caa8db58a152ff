/**
 * Modules: named parameters held as plain typed arrays (the optimiser step runs outside the plan), a
 * train/eval flag, freezing, and masks. A forward pass receives the parameters as tensors by name, so the
 * same code traces under gradPlan (placeholders) and runs eagerly (constants).
 */
import { OptionError, ShapeError } from '../errors.js';
import { input, tensor, type Tensor } from '../frontend/tensor.js';
import type { DType, TileData } from '../tile.js';

export interface Param {
  readonly shape: readonly number[];
  data: TileData;
  /** Tiling of the parameter's relation (default one tile), e.g. [1, D] for an embedding table. */
  readonly tile?: readonly number[];
  /** Frozen parameters get no gradient and are never updated. */
  frozen: boolean;
  /** 0/1 per element: zeros pin the parameter and its update at 0 (pruning). */
  mask?: TileData;
}

export type Params = Record<string, Tensor>;

/** Extra plan outputs a module wants back after a run (e.g. batch statistics), and what to do with them. */
export interface Aux { tensors: Record<string, Tensor>; apply(values: Record<string, TileData>): void }

export const size = (shape: readonly number[]) => shape.reduce((p, q) => p * q, 1);

/**
 * An input a compiled plan draws afresh for every step (Dropout's mask): traced as a plan input, bound by
 * CompiledModel with `draw()`'s values each step, so randomness never becomes a constant of the plan.
 */
export interface StepInput { readonly name: string; readonly shape: readonly number[]; draw(): Float64Array }

let tracing: StepInput[] | undefined;

/** Runs `f` (a traced forward) collecting the step inputs its modules ask for. */
export function traceStepInputs<T>(f: () => T): { value: T; inputs: StepInput[] } {
  const outer = tracing, inputs: StepInput[] = [];
  tracing = inputs;
  try { return { value: f(), inputs }; } finally { tracing = outer; }
}

/** Inside traceStepInputs: a placeholder for values drawn per step; otherwise undefined (eager: draw now). */
export function stepInput(shape: readonly number[], draw: () => Float64Array, opts: { dtype: DType; tile: readonly number[] }): Tensor | undefined {
  if (!tracing) return undefined;
  const name = `step:${tracing.length}`;
  tracing.push({ name, shape: [...shape], draw });
  return input(name, shape, opts);
}

export abstract class Module {
  training = true;
  protected readonly own: Record<string, Param> = {};
  protected readonly children: Record<string, Module> = {};
  /** Filled during a training forward; collected and cleared by the trainer. */
  pendingAux: Aux[] = [];

  constructor(readonly name: string) {}

  protected addParam(name: string, shape: readonly number[], data: TileData, tile?: readonly number[]): Param {
    if (data.length !== size(shape)) throw new ShapeError(`${this.name}: parameter ${name} has ${data.length} values for shape [${shape}]`, { layer: this.name, shape: [...shape] });
    return (this.own[name] = { shape: [...shape], data, tile, frozen: false });
  }
  protected addChild<M extends Module>(name: string, m: M): M { return (this.children[name] = m); }

  /** Every parameter under a dotted name ('block.fc.weight'), children first-class. */
  parameters(prefix = ''): Record<string, Param> {
    const out: Record<string, Param> = {};
    for (const [k, p] of Object.entries(this.own)) out[prefix + k] = p;
    for (const [k, c] of Object.entries(this.children)) Object.assign(out, c.parameters(`${prefix}${k}.`));
    return out;
  }
  modules(): Module[] { return [this, ...Object.values(this.children).flatMap((c) => c.modules())]; }
  train(on = true): this { for (const m of this.modules()) m.training = on; return this; }
  eval(): this { return this.train(false); }

  /** Freezes (or unfreezes) the parameters whose dotted name matches. */
  freeze(match: string | RegExp | ((name: string) => boolean), frozen = true): this {
    const test = typeof match === 'function' ? match : typeof match === 'string' ? (n: string) => n === match || n.startsWith(`${match}.`) : (n: string) => match.test(n);
    for (const [n, p] of Object.entries(this.parameters())) if (test(n)) p.frozen = frozen;
    return this;
  }

  /** Sets a 0/1 mask on a parameter and zeroes the masked entries now. */
  setMask(name: string, mask: ArrayLike<number>): this {
    const p = this.parameters()[name];
    if (!p) throw new OptionError('mask', `${this.name} has no parameter '${name}'`);
    if (mask.length !== p.data.length) throw new ShapeError(`${this.name}: mask for ${name} has ${mask.length} values, parameter shape [${p.shape}]`, { layer: this.name, shape: [...p.shape] });
    p.mask = Float64Array.from(mask, (m) => (m ? 1 : 0));
    for (let i = 0; i < p.data.length; i++) p.data[i] = p.data[i]! * p.mask[i]!;
    return this;
  }

  /** The parameters as constant tensors (eager use, eval). */
  tensors(dtype: DType = 'float32'): Params {
    return Object.fromEntries(Object.entries(this.parameters()).map(([n, p]) => [n, tensor(p.data, { shape: p.shape, tile: p.tile, dtype })]));
  }

  /** Parameters addressed relative to this module: p('weight') reads `${prefix}weight`. */
  abstract forward(p: Params, x: Tensor, prefix?: string): Tensor;

  protected param(p: Params, prefix: string, name: string): Tensor {
    const t = p[prefix + name];
    if (!t) throw new OptionError('params', `${this.name}: parameter '${prefix + name}' was not passed to forward`);
    return t;
  }
}

/** Runs children in order. */
export class Sequential extends Module {
  private readonly order: string[] = [];
  constructor(...layers: Module[]) {
    super('Sequential');
    layers.forEach((l, i) => { this.addChild(String(i), l); this.order.push(String(i)); });
  }
  forward(p: Params, x: Tensor, prefix = ''): Tensor {
    return this.order.reduce((h, k) => this.children[k]!.forward(p, h, `${prefix}${k}.`), x);
  }
}
