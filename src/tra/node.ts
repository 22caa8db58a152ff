/**
 * The one IR node type. A plan is a DAG of these; every transformation (autodiff, optimizer passes,
 * lowering to an executor) is an interpreter or rewrite over it, with one rule table entry per operator.
 */
import { PlanError } from '../errors.js';
import type { Schema } from './schema.js';
import { OPS, type OpName } from './ops/index.js';

export interface Node {
  readonly id: number;
  readonly op: OpName;
  readonly inputs: readonly Node[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly schema: Schema;
}

let nextId = 1;

/** Builds a node, validating its attributes and inferring its schema with the operator's rule. */
export function makeNode(op: OpName, inputs: readonly Node[], attrs: Record<string, unknown>): Node {
  const def = OPS[op];
  if (!def) throw new PlanError(`unknown operator '${String(op)}'`);
  if (def.arity >= 0 && inputs.length !== def.arity) throw new PlanError(`${op} takes ${def.arity} input(s), got ${inputs.length}`);
  const schema = def.infer(inputs.map((n) => n.schema), attrs);
  return { id: nextId++, op, inputs: [...inputs], attrs, schema };
}

/** Nodes reachable from `outputs`, inputs before users. */
export function topoSort(outputs: readonly Node[]): Node[] {
  const seen = new Set<Node>(), order: Node[] = [];
  const stack: [Node, number][] = outputs.map((n) => [n, 0]);
  stack.reverse();
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (seen.has(node)) { stack.pop(); continue; }
    if (i < node.inputs.length) { top[1]++; const next = node.inputs[i]!; if (!seen.has(next)) stack.push([next, 0]); continue; }
    stack.pop(); seen.add(node); order.push(node);
  }
  return order;
}
