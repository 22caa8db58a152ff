/** explain(): one line per node in SSA form, with the operator's attributes and the output schema. */
import type { Node } from './node.js';
import { OPS } from './ops/index.js';
import type { Plan } from './plan.js';
import { schemaString } from './schema.js';

export function explainPlan(plan: Plan, annotate?: (n: Node) => string): string {
  const nodes = plan.nodes();
  const ids = new Map(nodes.map((n, i) => [n, `%${i}`]));
  const width = Math.max(...nodes.map((n) => lineOf(n, ids).length));
  const lines = nodes.map((n) => {
    const extra = annotate ? `  ${annotate(n)}` : '';
    return `${lineOf(n, ids).padEnd(width)}  : ${schemaString(n.schema)}${extra}`;
  });
  const outs = plan.outputs.map((n, i) => `${plan.names[i]}=${ids.get(n)}`).join(', ');
  return [...lines, `return ${outs}`].join('\n');
}

function lineOf(n: Node, ids: Map<Node, string>): string {
  const args = n.inputs.map((x) => ids.get(x)!).join(', ');
  return `${ids.get(n)} = ${n.op}(${args}) ${OPS[n.op].describe(n.attrs)}`;
}
