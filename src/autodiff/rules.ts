/**
 * Reverse-mode rules, one per TRA operator: given a node and the gradient g of its output (a relation
 * with the node's schema), build the gradient of each input as more TRA nodes. Gradients are therefore
 * plans too, and run on every executor.
 */
import { PlanError } from '../errors.js';
import type { KernelCall } from '../kernels/registry.js';
import { aggregate, allKeys, join, map, range, rekey, retile } from '../tra/build.js';
import type { Node } from '../tra/node.js';
import type { AggFn } from '../tra/ops/aggregate.js';
import { concatOffsets } from '../tra/ops/concat.js';
import { joinLayout, type JoinOn } from '../tra/ops/join.js';
import type { OpName } from '../tra/ops/index.js';
import { denseShape, tileSizes } from '../tra/schema.js';
import { joinGrad, mapGrad } from './kernel_grads.js';

/** Returns one gradient node (or null for "no gradient") per input of `node`. */
type VjpRule = (node: Node, g: Node, needs: readonly boolean[]) => (Node | null)[];

const chain = (x: Node, kernels: readonly KernelCall[]): Node => kernels.reduce((acc, k) => map(acc, k), x);

/** Moves a relation keyed like a join's output onto the positions `pos` of one input's key, summing the rest. */
function ontoInputKeys(h: Node, pos: readonly number[]): Node {
  const k = h.schema.keys.length;
  if (pos.length === k) return pos.every((p, i) => p === i) ? h : rekey(h, pos);
  return aggregate(h, pos, 'sum');
}

const mapRule: VjpRule = (node, g) => {
  const x = node.inputs[0]!, rule = mapGrad(node.attrs.kernel as KernelCall);
  if (rule.kind === 'zero') return [null];
  if (rule.kind === 'gradOnly') return [chain(g, rule.kernels)];
  return [join(x, g, allKeys(x.schema.keys.length), rule.kernel)];
};

const joinRule: VjpRule = (node, g, needs) => {
  const [a, b] = node.inputs as [Node, Node];
  const on = node.attrs.on as JoinOn, kernel = node.attrs.kernel as KernelCall;
  const { rightToOut } = joinLayout(a.schema, b.schema, on);
  const positions = [range(a.schema.keys.length), rightToOut];
  return ([0, 1] as const).map((wrt) => {
    if (!needs[wrt]) return null;
    const rule = joinGrad(kernel, wrt);
    const x = node.inputs[wrt]!, other = node.inputs[1 - wrt]!, otherPos = positions[1 - wrt]!;
    let h: Node;
    switch (rule.kind) {
      case 'zero': return null;
      case 'gradOnly': h = chain(g, rule.kernels); break;
      case 'withOther': h = join(g, other, otherPos.map((p, q) => [p, q] as [number, number]), rule.kernel); break;
      case 'partial': h = join(join(a, b, on, rule.partial), g, allKeys(g.schema.keys.length), rule.kernel); break;
    }
    const onX = ontoInputKeys(h, positions[wrt]!);
    return 'fixup' in rule && rule.fixup ? join(x, onX, allKeys(x.schema.keys.length), rule.fixup) : onX;
  });
};

const aggregateRule: VjpRule = (node, g, needs) => {
  const groupBy = node.attrs.groupBy as number[], fn = node.attrs.fn as AggFn;
  const on = groupBy.map((p, j) => [p, j] as [number, number]);
  return node.inputs.map((x, i) => {
    if (!needs[i]) return null;
    const spread = join(x, g, on, { name: 'second', attrs: {} });
    if (fn === 'sum') return spread;
    // max/min: the gradient flows to the elements equal to the group's extreme (all of them on ties).
    const r = x.schema.tile.length, axes = range(r);
    const mask = join(x, node, on, { name: 'binary', attrs: { fn: 'eq', a: axes, b: axes } });
    return join(mask, spread, allKeys(x.schema.keys.length), { name: 'binary', attrs: { fn: 'mul', a: axes, b: axes } });
  });
};

/**
 * aggregate(sum)(join(L, R)), an einsum over relations, differentiated as one operator: each input's
 * gradient joins the cotangent g with the other input directly. The two-rule path first spreads g over
 * the join's keys (join(J, g, second)), which materialises J: one row per edge × feature of a graph
 * convolution in SQL. The result is restricted to the input's present keys (a semi-join, or the rule's
 * fixup join), so it sums exactly the J tuples the two-rule path sums. Returns null where this does not
 * apply (a rule other than 'withOther', or an input key that is neither g's nor the other input's); the
 * caller then differentiates the two nodes separately.
 */
export function sumOfJoinRule(agg: Node, g: Node, needs: readonly boolean[]): (Node | null)[] | null {
  const J = agg.inputs[0]!, groupBy = agg.attrs.groupBy as number[];
  const [a, b] = J.inputs as [Node, Node];
  const on = J.attrs.on as JoinOn, kernel = J.attrs.kernel as KernelCall;
  const positions = [range(a.schema.keys.length), joinLayout(a.schema, b.schema, on).rightToOut];
  const rules = ([0, 1] as const).map((w) => (needs[w] ? joinGrad(kernel, w) : null));
  if (rules.some((r) => r !== null && r.kind !== 'withOther' && r.kind !== 'zero')) return null;
  const grads = ([0, 1] as const).map((wrt) => {
    const rule = rules[wrt];
    if (!rule || rule.kind !== 'withOther') return { grad: null };
    const x = J.inputs[wrt]!, other = J.inputs[1 - wrt]!, otherPos = positions[1 - wrt]!;
    // Join g and the other input on the J dims they share; h's dims: g's, then the other's unjoined ones.
    const pairs: [number, number][] = [];
    groupBy.forEach((jd, q) => { const p = otherPos.indexOf(jd); if (p >= 0) pairs.push([q, p]); });
    const hDims = [...groupBy, ...otherPos.filter((jd) => !groupBy.includes(jd))];
    const pos = positions[wrt]!.map((jd) => hDims.indexOf(jd));
    if (pos.some((p) => p < 0)) return undefined;
    const onX = ontoInputKeys(join(g, other, pairs, rule.kernel), pos);
    const all = allKeys(x.schema.keys.length);
    return { grad: rule.fixup ? join(x, onX, all, rule.fixup) : join(x, onX, all, { name: 'second', attrs: {} }) };
  });
  return grads.some((r) => r === undefined) ? null : grads.map((r) => r!.grad);
}

const rekeyRule: VjpRule = (node, g) => {
  const keys = node.attrs.keys as (number | null)[];
  const x = node.inputs[0]!;
  return [rekey(g, x.schema.keys.map((_, i) => { const j = keys.indexOf(i); return j >= 0 ? j : null; }))];
};

const filterRule: VjpRule = (_node, g) => [g];

const retileRule: VjpRule = (node, g) => {
  const x = node.inputs[0]!, start = node.attrs.start as number[];
  return [retile(g, start.map((s) => -s), denseShape(x.schema), tileSizes(x.schema))];
};

const concatRule: VjpRule = (node, g, needs) => {
  const axis = node.attrs.axis as number;
  const offs = concatOffsets(node.inputs.map((x) => x.schema), axis), t = tileSizes(node.schema)[axis]!;
  return node.inputs.map((x, i) => (needs[i]
    ? retile(g, x.schema.keys.map((_, d) => (d === axis ? offs[i]! * t : 0)), denseShape(x.schema), tileSizes(x.schema))
    : null));
};

export const VJP_RULES: Record<Exclude<OpName, 'input' | 'const'>, VjpRule> = {
  map: mapRule, join: joinRule, aggregate: aggregateRule, rekey: rekeyRule, filter: filterRule, retile: retileRule, concat: concatRule,
};

export function vjpRule(op: OpName): VjpRule {
  const r = (VJP_RULES as Record<string, VjpRule>)[op];
  if (!r) throw new PlanError(`autodiff: operator '${op}' has no gradient rule`);
  return r;
}
