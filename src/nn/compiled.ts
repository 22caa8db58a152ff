/**
 * Compiled training and inference steps. The model's loss and its gradients are traced ONCE per input
 * signature (batch size, trainable set, train/eval mode) into a TRA plan whose inputs are the batch `x`,
 * the (one-hot, possibly smoothed) targets `y` and the trainable parameters `p:<name>`; every step then
 * only binds dense data and runs that same Plan object on an executor, so the executor's physical-plan
 * cache (InprocExecutor.physical) and the kernel sessions are reused step after step.
 *
 * Frozen parameters are plan inputs too (they just get no gradient), so freezing does not bake values
 * into the plan; masks are applied to the gradients after the run. Randomness that must be fresh each
 * step (Dropout's mask) is a plan input too (module.ts stepInput), drawn and bound per step.
 */
import { NonFiniteError, OptionError, PlanError, ShapeError } from '../errors.js';
import { scalarOne, vjp } from '../autodiff/vjp.js';
import type { Binding, Bindings, Executor, RunOptions } from '../exec/executor.js';
import { mul } from '../frontend/ops/elementwise.js';
import { logSoftmax, mean, sum } from '../frontend/ops/reduce.js';
import { input, type Tensor } from '../frontend/tensor.js';
import { Plan } from '../tra/plan.js';
import { Relation } from '../tra/relation.js';
import { denseSchema } from '../tra/schema.js';
import { makeTile, type DType, type TileData } from '../tile.js';
import { BatchNorm } from './layers.js';
import { traceStepInputs, type Aux, type Module, type Params, type StepInput } from './module.js';

/**
 * Mean cross entropy of logits [B, C] against target distributions [B, C] (one-hot or smoothed rows).
 * (The algebraically equal mean(logsumexp(z)) - Σ t·z / B has 7 fewer kernel calls per step, but its
 * gradient plan fails for the CNN: the two contributions to the logits' gradient get schemas that differ
 * in which key dim ties a bound-1 tile dim, and the autodiff's summing aggregation rejects them.)
 */
export function crossEntropyTargets(logits: Tensor, target: Tensor): Tensor {
  if (logits.rank !== 2 || logits.shape.join() !== target.shape.join()) throw new ShapeError(`crossEntropy: logits [${logits.shape}] and targets [${target.shape}] must both be [B, C]`, { layer: 'crossEntropy' });
  return mul(mean(sum(mul(logSoftmax(logits, 1), target), 1)), -1);
}

/** Targets for integer labels: (1-eps)·onehot + eps/C per row, as float32 [B, C]. */
export function oneHotTargets(labels: ArrayLike<number>, classes: number, labelSmoothing = 0): Float32Array {
  const B = labels.length, q = new Float32Array(B * classes).fill(labelSmoothing / classes);
  for (let b = 0; b < B; b++) {
    const y = labels[b]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) throw new ShapeError(`label ${y} at row ${b} is outside [0, ${classes})`, { row: b });
    q[b * classes + y] += 1 - labelSmoothing;
  }
  return q;
}

export interface CompiledOptions {
  executor: Executor;
  /** Shape of one example, e.g. [784] or [1, 28, 28]. */
  exampleShape: readonly number[];
  classes: number;
  /** Loss of (logits, targets); default crossEntropyTargets. */
  loss?: (logits: Tensor, targets: Tensor) => Tensor;
  labelSmoothing?: number;
  dtype?: DType;
  run?: RunOptions;
}

export interface CompiledStepResult {
  loss: number;
  grads: Record<string, TileData>;
  /** The batch's logits [B, C], row-major (for running accuracy). */
  logits: TileData;
}

interface TrainEntry { plan: Plan; trainable: string[]; aux: Aux[]; auxCount: number; stepInputs: StepInput[] }

const paramInput = (name: string) => `p:${name}`;

/**
 * Cached value-and-gradient (and forward-only) plans for a module whose forward maps a batch
 * [B, ...exampleShape] to logits [B, classes].
 */
export class CompiledModel {
  private readonly trainPlans = new Map<string, TrainEntry>();
  private readonly evalPlans = new Map<string, Plan>();
  /** How many plans were traced (for tests: stays at one per signature). */
  traces = 0;

  constructor(readonly model: Module, readonly opts: CompiledOptions) {
    if (!Number.isInteger(opts.classes) || opts.classes < 1) throw new OptionError('classes', `must be a positive integer, got ${opts.classes}`);
  }

  private get dtype(): DType { return this.opts.dtype ?? 'float32'; }

  /** Parameter placeholders: every parameter is a plan input (frozen ones simply get no gradient). */
  private placeholders(): Params {
    const p: Params = {};
    for (const [name, q] of Object.entries(this.model.parameters())) {
      p[name] = input(paramInput(name), q.shape, { tile: q.tile ?? q.shape.map((n) => Math.max(n, 1)), dtype: this.dtype });
    }
    return p;
  }

  private xInput(batch: number): Tensor {
    const shape = [batch, ...this.opts.exampleShape];
    return input('x', shape, { tile: shape.map((n) => Math.max(n, 1)), dtype: this.dtype });
  }

  private checkBatch(x: ArrayLike<number>, batch: number): void {
    const row = this.opts.exampleShape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(batch) || batch < 1 || x.length !== batch * row) throw new ShapeError(`${this.model.name}: batch of ${batch} needs ${batch * row} values ([${batch}, ${this.opts.exampleShape}]), got ${x.length}`);
  }

  /**
   * Inputs bound as one-tile relations that wrap the caller's arrays when they already have the plan's
   * dtype (no copy per step; parameters are Float32Array after `toFloat32`), else as dense data.
   */
  private bind(name: string, shape: readonly number[], data: ArrayLike<number>): Binding {
    const dt = this.dtype;
    if (!(dt === 'float32' ? data instanceof Float32Array : data instanceof Float64Array)) return { shape, data };
    const rel = new Relation(denseSchema(shape, shape.map((n) => Math.max(n, 1)), dt), name);
    rel.set(shape.map(() => 0), makeTile(shape, dt, data as TileData));
    return rel;
  }

  private bindings(x: ArrayLike<number>, batch: number, y?: Float32Array): Record<string, Binding> {
    const b: Record<string, Binding> = { x: this.bind('x', [batch, ...this.opts.exampleShape], x) };
    if (y) b.y = this.bind('y', [batch, this.opts.classes], this.dtype === 'float32' ? y : Float64Array.from(y));
    for (const [name, q] of Object.entries(this.model.parameters())) b[paramInput(name)] = this.bind(paramInput(name), q.shape, q.data);
    return b;
  }

  /** Runs with finiteness checks off per operator (they cost a pass over every tile); the loss is checked instead. */
  private runOpts(): RunOptions { return { checkFinite: false, ...this.opts.run }; }

  /** The training plan for this batch size (traced on first use). Outputs: loss, logits, grads, aux. */
  trainPlan(batch: number): TrainEntry {
    const params = Object.entries(this.model.parameters());
    const trainable = params.filter(([, q]) => !q.frozen).map(([n]) => n);
    const key = `${batch}|${trainable.join(',')}`;
    let entry = this.trainPlans.get(key);
    if (entry) return entry;
    const modules = this.model.modules();
    modules.forEach((m) => { m.train(true); m.pendingAux = []; });
    const p = this.placeholders();
    const { value: logits, inputs: stepInputs } = traceStepInputs(() => this.model.forward(p, this.xInput(batch)));
    if (logits.rank !== 2 || logits.shape[0] !== batch || logits.shape[1] !== this.opts.classes) throw new ShapeError(`${this.model.name}: forward gave shape [${logits.shape}], want [${batch}, ${this.opts.classes}]`);
    const target = input('y', [batch, this.opts.classes], { dtype: this.dtype });
    const value = (this.opts.loss ?? crossEntropyTargets)(logits, target);
    if (value.rank !== 0) throw new PlanError(`${this.model.name}: the loss must be a scalar, got shape [${value.shape}]`);
    const aux = modules.flatMap((m) => m.pendingAux);
    modules.forEach((m) => { m.pendingAux = []; });
    const auxNodes = aux.flatMap((a) => Object.values(a.tensors).map((t) => t.node));
    const grads = trainable.length ? vjp([value.node], [scalarOne(value.node)], trainable.map((n) => p[n]!.node)) : [];
    const plan = new Plan([value.node, logits.node, ...grads, ...auxNodes], ['loss', 'logits', ...trainable.map((n) => `grad:${n}`), ...auxNodes.map((_, i) => `aux${i}`)]);
    this.traces++;
    this.trainPlans.set(key, (entry = { plan, trainable, aux, auxCount: auxNodes.length, stepInputs }));
    return entry;
  }

  /** Forward-only plan (eval mode) for this batch size: output logits. */
  evalPlan(batch: number): Plan {
    let plan = this.evalPlans.get(String(batch));
    if (plan) return plan;
    const wasTraining = this.model.training;
    this.model.eval();
    try {
      const logits = this.model.forward(this.placeholders(), this.xInput(batch));
      plan = new Plan([logits.node], ['logits']);
    } finally { this.model.train(wasTraining); }
    this.traces++;
    this.evalPlans.set(String(batch), plan);
    return plan;
  }

  /** Loss, gradients (masked) and logits for one batch; batch statistics are fed back to their modules. */
  async step(x: ArrayLike<number>, labels: ArrayLike<number>): Promise<CompiledStepResult> {
    const batch = labels.length;
    this.checkBatch(x, batch);
    const entry = this.trainPlan(batch);
    const y = oneHotTargets(labels, this.opts.classes, this.opts.labelSmoothing ?? 0);
    const bindings = this.bindings(x, batch, y);
    // Per-step inputs (Dropout's masks): a fresh draw each step, in the plan's dtype.
    for (const si of entry.stepInputs) { const d = si.draw(); bindings[si.name] = this.bind(si.name, si.shape, this.dtype === 'float32' ? Float32Array.from(d) : d); }
    const out = await this.opts.executor.run(entry.plan, bindings, this.runOpts());
    const dense = out.map(denseData);
    const loss = dense[0]![0]!;
    if (!Number.isFinite(loss)) throw new NonFiniteError(`${this.model.name}: training loss`, [], 0, loss);
    let k = 2 + entry.trainable.length;
    for (const a of entry.aux) a.apply(Object.fromEntries(Object.keys(a.tensors).map((name) => [name, dense[k++]!])));
    // Eval plans hold BatchNorm's running statistics as constants: they are stale once those moved.
    if (entry.auxCount && this.model.modules().some((m) => m instanceof BatchNorm)) this.evalPlans.clear();
    const params = this.model.parameters(), grads: Record<string, TileData> = {};
    entry.trainable.forEach((n, i) => {
      const g = dense[2 + i]!, mask = params[n]!.mask;
      if (mask) for (let j = 0; j < g.length; j++) g[j] = g[j]! * mask[j]!;
      grads[n] = g;
    });
    return { loss, grads, logits: dense[1]! };
  }

  /** Logits [B, C] for a batch, in eval mode. */
  async predict(x: ArrayLike<number>, batch: number): Promise<TileData> {
    this.checkBatch(x, batch);
    const [logits] = await this.opts.executor.run(this.evalPlan(batch), this.bindings(x, batch), this.runOpts());
    return denseData(logits!);
  }
}

/** Index of the largest value of each row of [B, C] logits. */
export function argmaxRows(logits: ArrayLike<number>, classes: number): Int32Array {
  const B = Math.floor(logits.length / classes), out = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let best = 0, bv = logits[b * classes]!;
    for (let c = 1; c < classes; c++) { const v = logits[b * classes + c]!; if (v > bv) { bv = v; best = c; } }
    out[b] = best;
  }
  return out;
}

/** A dense relation's values: the tile's own array when one tile covers it (a fresh kernel output), else assembled. */
function denseData(r: Relation): TileData {
  if (r.size === 1 && r.schema.keys.every((k) => k === 1)) {
    const t = r.tuples().next().value!;
    return t.tile.data;
  }
  return r.toDense().data;
}

/** Stores every parameter as Float32Array (the plans' dtype), so steps bind them without copying. */
export function toFloat32(model: Module): Module {
  for (const p of Object.values(model.parameters())) if (!(p.data instanceof Float32Array)) p.data = Float32Array.from(p.data);
  return model;
}
