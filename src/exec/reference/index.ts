/**
 * The reference executor: evaluates a plan node by node with the rule table in ops.ts. Synchronous at
 * heart (runSync) so tests and finite differences are simple; `run` wraps it for the Executor contract.
 */
import { PlanError } from '../../errors.js';
import { REFERENCE } from '../../kernels/reference/index.js';
import type { Node } from '../../tra/node.js';
import { OPS } from '../../tra/ops/index.js';
import type { Plan } from '../../tra/plan.js';
import { Relation } from '../../tra/relation.js';
import { bindInput, checkFinite, checksNode, type Bindings, type Executor, type RunOptions } from '../executor.js';
import { REFERENCE_OPS } from './ops.js';

export function runSync(plan: Plan, bindings: Bindings, opts: RunOptions = {}): Relation[] {
  // The reference executor checks every operator by default: it is where a NaN is hunted down.
  const check = opts.checkFinite ?? 'all';
  const values = new Map<Node, Relation>();
  plan.inputs(); // validates that each input name has one schema
  for (const node of plan.nodes()) {
    const dtype = opts.precision ?? node.schema.dtype;
    const where = `${node.op} ${OPS[node.op].describe(node.attrs)} (node #${node.id})`;
    let rel: Relation;
    if (node.op === 'input') {
      rel = bindInput(node, bindings[node.attrs.name as string], dtype);
      if (check) checkFinite(rel, `input '${String(node.attrs.name)}'`);
    } else if (node.op === 'const') {
      const v = node.attrs.value as Relation;
      rel = v.schema.dtype === dtype ? v : castRelation(v, dtype);
    } else {
      const evaluate = REFERENCE_OPS[node.op];
      if (!evaluate) throw new PlanError(`reference executor has no rule for operator '${node.op}'`);
      rel = evaluate(node, node.inputs.map((x) => values.get(x)!), { dtype, backend: REFERENCE, name: `${node.op} ${OPS[node.op].describe(node.attrs)}` });
      if (checksNode(check, node, plan.outputs.includes(node))) checkFinite(rel, where);
    }
    values.set(node, rel);
  }
  return plan.outputs.map((n) => values.get(n)!);
}

function castRelation(r: Relation, dtype: 'float32' | 'float64'): Relation {
  const out = new Relation({ ...r.schema, dtype }, r.name);
  for (const t of r.tuples()) out.set(t.key, t.tile);
  return out;
}

export const referenceExecutor: Executor = {
  name: 'reference',
  run: async (plan, bindings, opts) => runSync(plan, bindings, opts),
};
