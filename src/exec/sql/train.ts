/**
 * Training inside the database: parameters live in tables, a step runs the value-and-gradient plan as SQL
 * and updates every parameter table with one UPDATE … FROM the gradient's table, all in one transaction.
 * Only the loss (one number) comes back to Node. A step that fails anywhere (a statement, a constraint on
 * a parameter table, a non-finite loss) rolls back: every parameter table is exactly as before that step.
 */
import { NonFiniteError, PlanError } from '../../errors.js';
import type { Plan } from '../../tra/plan.js';
import { SqlTable, type SqlBindings, type SqlExecutor, type SqlRunOptions, type SqlSession } from './executor.js';
import { Params } from './engine.js';
import { quoteIdent } from './ident.js';

export interface SqlParameter {
  /** The plan output holding this parameter's gradient (e.g. 'grad1' from gradPlan). */
  readonly grad: string;
  /** The parameter's table; it must also be bound to the parameter's plan input. */
  readonly table: SqlTable;
  /** 'nonnegative': projected gradient descent, p = max(0, p - lr * grad) (non-negative factorisations). */
  readonly project?: 'nonnegative';
}

export interface SqlStepOptions extends SqlRunOptions {
  /** Learning rate of plain gradient descent: p -= lr * grad. */
  lr: number;
  /** The plan output holding the loss (a scalar); default 'value'. */
  value?: string;
  /** Called inside the transaction after parameter j's update (tests inject failures here). */
  afterUpdate?: (j: number) => void | Promise<void>;
}

/** One gradient-descent step inside the database; returns the loss before the update. */
export function sqlTrainStep(ex: SqlExecutor, plan: Plan, bindings: SqlBindings, params: readonly SqlParameter[], opts: SqlStepOptions): Promise<number> {
  const valueName = opts.value ?? 'value';
  const vi = plan.names.indexOf(valueName);
  if (vi < 0) throw new PlanError(`sqlTrainStep: the plan has no output '${valueName}' (outputs: ${plan.names.join(', ')})`);
  const gi = params.map((p) => {
    const j = plan.names.indexOf(p.grad);
    if (j < 0) throw new PlanError(`sqlTrainStep: the plan has no output '${p.grad}' (outputs: ${plan.names.join(', ')})`);
    if (!(p.table instanceof SqlTable)) throw new PlanError(`sqlTrainStep: parameter ${p.grad} needs a SqlTable`);
    return j;
  });
  if (typeof opts.lr !== 'number' || !Number.isFinite(opts.lr)) throw new PlanError(`sqlTrainStep: lr must be a finite number, got ${String(opts.lr)}`);
  return ex.transaction(async (s) => {
    const tables = await s.compute(plan, bindings, opts);
    const vnode = plan.outputs[vi]!;
    if (vnode.schema.keys.length !== 0 || vnode.schema.tile.length !== 0) throw new PlanError(`sqlTrainStep: output '${valueName}' is not a scalar`);
    const loss = (await s.query(`SELECT SUM(v) FROM ${tables.get(vnode)!} AS o`))[0]?.[0] ?? NaN;
    if (!Number.isFinite(loss)) throw new NonFiniteError(`loss '${valueName}'`, [], 0, loss);
    // Gradients are materialised before any parameter changes (an output may read a parameter table directly).
    const grads: string[] = [];
    for (const j of gi) {
      const node = plan.outputs[j]!;
      const t = await s.createTable(node.schema);
      await s.exec(`INSERT INTO ${t} SELECT * FROM ${tables.get(node)!} AS o`);
      grads.push(t);
    }
    for (let j = 0; j < params.length; j++) {
      await updateParameter(s, params[j]!, grads[j]!, plan.outputs[gi[j]!]!.schema.tile.length, opts.lr);
      await opts.afterUpdate?.(j);
    }
    return loss;
  });
}

async function updateParameter(s: SqlSession, param: SqlParameter, grad: string, rank: number, lr: number): Promise<void> {
  const p = param.table;
  if (p.value === undefined) throw new PlanError(`parameter table ${p.from} needs a value column`);
  const params = new Params(s.engine.dialect);
  const lrp = params.add(lr);
  const conds = [
    ...p.keys.flatMap((c, j) => (c === null ? [] : [`${p.from}.${quoteIdent(c)} = g.k${j}`])),
    ...p.index.flatMap((c, j) => (c === null ? [] : [`${p.from}.${quoteIdent(c)} = g.i${j}`])),
  ];
  if (p.index.length !== 0 && p.index.length !== rank) throw new PlanError(`parameter table ${p.from}: ${p.index.length} index column(s) for a tile of rank ${rank}`);
  const v = quoteIdent(p.value);
  const step = `${p.from}.${v} - ${lrp} * g.v`;
  const value = param.project === 'nonnegative' ? `CASE WHEN ${step} > 0 THEN ${step} ELSE 0 END` : step;
  await s.exec(`UPDATE ${p.from} SET ${v} = ${value} FROM ${grad} AS g WHERE ${conds.length ? conds.join(' AND ') : 'TRUE'}`, params.values);
}
