/**
 * Reverse-mode autodiff over TRA plans: walk the DAG from the outputs back, apply each operator's rule,
 * and sum the gradients a node receives from several consumers with one multi-input aggregation (so
 * sparse gradients with different keys add up correctly).
 */
import { PlanError } from '../errors.js';
import { aggregate, constant, range } from '../tra/build.js';
import { topoSort, type Node } from '../tra/node.js';
import { Relation } from '../tra/relation.js';
import { schemaEquivalent, schemaString } from '../tra/schema.js';
import { makeTile } from '../tile.js';
import { sumOfJoinRule, vjpRule } from './rules.js';

/** Sum of gradient contributions that share a schema. */
function sumAll(gs: readonly Node[]): Node {
  return gs.length === 1 ? gs[0]! : aggregate(gs, range(gs[0]!.schema.keys.length), 'sum');
}

/** A relation with no tuples: an all-zero gradient. */
export function zerosLike(n: Node): Node {
  return constant(new Relation(n.schema, 'zeros'));
}

/**
 * Gradients of sum_i <outputs[i], cotangents[i]> with respect to each node in `wrt`.
 * Each cotangent must have its output's schema.
 */
export function vjp(outputs: readonly Node[], cotangents: readonly Node[], wrt: readonly Node[]): Node[] {
  if (outputs.length !== cotangents.length) throw new PlanError(`vjp: ${outputs.length} outputs but ${cotangents.length} cotangents`);
  outputs.forEach((o, i) => {
    if (!schemaEquivalent(o.schema, cotangents[i]!.schema)) throw new PlanError(`vjp: cotangent ${i} has schema ${schemaString(cotangents[i]!.schema)}, its output has ${schemaString(o.schema)}`);
  });
  const order = topoSort(outputs);
  // Only nodes on a path to some wrt node need gradients.
  const targets = new Set(wrt), needed = new Set<Node>();
  for (const n of order) if (targets.has(n) || n.inputs.some((x) => needed.has(x))) needed.add(n);
  const pending = new Map<Node, Node[]>();
  const add = (n: Node, g: Node) => { const l = pending.get(n); if (l) l.push(g); else pending.set(n, [g]); };
  outputs.forEach((o, i) => { if (needed.has(o)) add(o, cotangents[i]!); });
  // A join read only by one sum aggregation is differentiated together with it (sumOfJoinRule).
  const uses = new Map<Node, number>();
  for (const n of [...order.flatMap((m) => m.inputs), ...outputs]) uses.set(n, (uses.get(n) ?? 0) + 1);
  const done = new Map<Node, Node>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!, gs = pending.get(node);
    if (!gs || !needed.has(node)) continue;
    const g = sumAll(gs);
    done.set(node, g);
    if (node.op === 'input' || node.op === 'const') continue;
    const J = node.inputs[0]!;
    if (node.op === 'aggregate' && node.attrs.fn === 'sum' && node.inputs.length === 1 && J.op === 'join' && uses.get(J) === 1 && !targets.has(J)) {
      const jneeds = J.inputs.map((x) => needed.has(x));
      const fused = sumOfJoinRule(node, g, jneeds);
      if (fused) {
        fused.forEach((gx, j) => { if (gx && jneeds[j]) add(J.inputs[j]!, gx); });
        continue;
      }
    }
    const needs = node.inputs.map((x) => needed.has(x));
    vjpRule(node.op)(node, g, needs).forEach((gx, j) => { if (gx && needs[j]) add(node.inputs[j]!, gx); });
  }
  return wrt.map((w) => done.get(w) ?? zerosLike(w));
}

/** The cotangent 1 for a scalar (rank-0, single tuple) output. */
export function scalarOne(out: Node): Node {
  if (out.schema.keys.length !== 0 || out.schema.tile.length !== 0) {
    throw new PlanError(`grad: the function must return a scalar, got ${schemaString(out.schema)}`);
  }
  const r = new Relation(out.schema, 'seed');
  r.set([], makeTile([], out.schema.dtype, [1]));
  return constant(r);
}
