/**
 * Common-subexpression pass (TRA -> TRA): nodes with the same operator, attributes and inputs are one
 * node. Users write einsum('ik,kj->ij', A, B) twice, autodiff re-derives shared pieces; after this pass the
 * optimizer costs, and the executor computes, each once. Constants compare by identity.
 */
import { makeNode, type Node } from '../tra/node.js';
import { Plan } from '../tra/plan.js';
import type { Relation } from '../tra/relation.js';

export function cse(plan: Plan): Plan {
  const canon = new Map<string, Node>();
  const mapped = new Map<Node, Node>();
  const constIds = new Map<Relation, number>();
  const idOf = new Map<Node, number>();
  let changed = false;
  for (const n of plan.nodes()) {
    const ins = n.inputs.map((x) => mapped.get(x)!);
    const attrs = n.op === 'const'
      ? `const#${constIds.get(n.attrs.value as Relation) ?? constIds.set(n.attrs.value as Relation, constIds.size).get(n.attrs.value as Relation)}`
      : JSON.stringify(n.attrs);
    const key = `${n.op}|${attrs}|${ins.map((x) => idOf.get(x)).join(',')}`;
    let m = canon.get(key);
    if (!m) {
      m = ins.every((x, i) => x === n.inputs[i]) ? n : makeNode(n.op, ins, { ...n.attrs });
      canon.set(key, m);
      idOf.set(m, idOf.size);
    }
    if (m !== n) changed = true;
    mapped.set(n, m);
  }
  return changed ? new Plan(plan.outputs.map((o) => mapped.get(o)!), plan.names) : plan;
}
