/**
 * grad / valueAndGrad in the style of JAX: trace the function on input placeholders shaped (and tiled)
 * like the arguments, differentiate the traced TRA plan with the relational VJP rules, and run the
 * resulting plan — value and gradients in one — on an executor. Traced plans are cached per signature.
 */
import { PlanError } from '../errors.js';
import { runSync } from '../exec/reference/index.js';
import type { Executor, RunOptions } from '../exec/executor.js';
import { scalarOne, vjp } from '../autodiff/vjp.js';
import { Plan } from '../tra/plan.js';
import { Relation } from '../tra/relation.js';
import { schemaString } from '../tra/schema.js';
import { fromRelation, input, Tensor } from './tensor.js';

export type Fn = (...args: Tensor[]) => Tensor;

/**
 * The plan computing f's value and its gradients w.r.t. the arguments in `argnums`. Inputs are named
 * arg0, arg1, …; outputs are 'value' then 'grad<i>'.
 */
export function gradPlan(f: Fn, args: readonly Tensor[], argnums: readonly number[] = [0]): Plan {
  argnums.forEach((i) => { if (!Number.isInteger(i) || i < 0 || i >= args.length) throw new PlanError(`grad: argnum ${i} is outside the ${args.length} argument(s)`); });
  const placeholders = args.map((a, i) => input(`arg${i}`, a.shape, { dtype: a.dtype, tile: a.tile }));
  const value = f(...placeholders);
  if (!(value instanceof Tensor)) throw new PlanError('grad: the function must return a Tensor');
  if (value.rank !== 0) throw new PlanError(`grad: the function must return a scalar, got shape [${value.shape}] (${schemaString(value.node.schema)})`);
  const grads = vjp([value.node], [scalarOne(value.node)], argnums.map((i) => placeholders[i]!.node));
  return new Plan([value.node, ...grads], ['value', ...argnums.map((i) => `grad${i}`)]);
}

export interface GradOptions extends RunOptions {
  argnums?: number | readonly number[];
  /** Runs the plan synchronously on the reference executor unless given (then use the async form). */
  executor?: Executor;
}

function signature(args: readonly Tensor[]): string {
  return args.map((a) => `${a.dtype}[${a.shape}]/[${a.tile}]`).join(';');
}

function evaluated(args: readonly Tensor[], opts: RunOptions): Record<string, Relation> {
  const plan = new Plan(args.map((a) => a.node));
  const rels = runSync(plan, {}, opts);
  return Object.fromEntries(rels.map((r, i) => [`arg${i}`, r]));
}

/** Returns (…args) => { value, grads } computed on the reference executor. */
export function valueAndGrad(f: Fn, opts: GradOptions = {}): (...args: Tensor[]) => { value: Tensor; grads: Tensor[] } {
  const argnums = opts.argnums === undefined ? [0] : typeof opts.argnums === 'number' ? [opts.argnums] : [...opts.argnums];
  const cache = new Map<string, Plan>();
  return (...args) => {
    const key = signature(args);
    let plan = cache.get(key);
    if (!plan) cache.set(key, (plan = gradPlan(f, args, argnums)));
    const [value, ...grads] = runSync(plan, evaluated(args, opts), opts).map(fromRelation);
    return { value: value!, grads };
  };
}

/** Returns (…args) => gradient (one Tensor when argnums is a number, else an array). */
export function grad(f: Fn, opts: GradOptions = {}): (...args: Tensor[]) => Tensor | Tensor[] {
  const vg = valueAndGrad(f, opts);
  return (...args) => {
    const { grads } = vg(...args);
    return opts.argnums === undefined || typeof opts.argnums === 'number' ? grads[0]! : grads;
  };
}
