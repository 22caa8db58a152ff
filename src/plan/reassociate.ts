/**
 * Re-association pass (TRA -> TRA): finds trees of binary contractions — aggregate(join(X, Y; einsum)) —
 * whose intermediates have a single consumer, flattens each into one n-ary Einstein sum over its leaves,
 * and re-lowers it in the order that minimises flops (exact dynamic programming over subsets, as for
 * matrix chains). (A·B)·C with A 4096×64, B 64×4096, C 4096×64 becomes A·(B·C). A tree is replaced only
 * when the new order is strictly cheaper and yields the same schema, so results are unchanged.
 */
import type { KernelCall } from '../kernels/registry.js';
import { parseTileSpec } from '../kernels/tile_spec.js';
import { contract, reduceTo, type Lettered } from '../tra/lettered.js';
import { makeNode, type Node } from '../tra/node.js';
import type { JoinOn } from '../tra/ops/join.js';
import { Plan } from '../tra/plan.js';
import { denseShape, isDense, schemaEquals, tileSizes } from '../tra/schema.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const MAX_LEAVES = 10;

interface Contraction { x: Node; y: Node; lx: string; ly: string; out: string }

/** n as aggregate_sum(join(X, Y; einsum lx,ly->out)) over dense operands, or null. */
function asContraction(n: Node, consumers: Map<Node, number>): Contraction | null {
  if (n.op !== 'aggregate' || n.attrs.fn !== 'sum' || n.inputs.length !== 1 || !isDense(n.schema)) return null;
  const j = n.inputs[0]!;
  if (j.op !== 'join' || (consumers.get(j) ?? 0) !== 1) return null;
  const k = j.attrs.kernel as KernelCall;
  if (k.name !== 'einsum') return null;
  const [x, y] = j.inputs as [Node, Node];
  if (!isDense(x.schema) || !isDense(y.schema)) return null;
  const { inputs, output } = parseTileSpec(k.attrs.spec as string);
  const [lx, ly] = inputs as [string, string];
  if (ly === undefined || lx.length !== x.schema.keys.length || ly.length !== y.schema.keys.length) return null;
  if (new Set(lx).size !== lx.length || new Set(ly).size !== ly.length) return null;
  const shared = [...lx].filter((c) => ly.includes(c));
  const on = j.attrs.on as JoinOn;
  if (on.length !== shared.length || !on.every(([l, r]) => lx[l] === ly[r])) return null;
  const joinKeys = [...lx, ...[...ly].filter((c) => !shared.includes(c))];
  const groupBy = n.attrs.groupBy as number[];
  if (groupBy.map((p) => joinKeys[p]).join('') !== output) return null;
  return { x, y, lx, ly, out: output };
}

export function reassociate(plan: Plan): Plan {
  const nodes = plan.nodes();
  const consumers = new Map<Node, number>();
  for (const n of nodes) for (const x of n.inputs) consumers.set(x, (consumers.get(x) ?? 0) + 1);
  for (const o of plan.outputs) consumers.set(o, (consumers.get(o) ?? 0) + 1);
  const rebuilt = new Map<Node, Node>();

  const rebuild = (n: Node): Node => {
    const hit = rebuilt.get(n);
    if (hit) return hit;
    const out = tryReassociate(n) ?? (() => {
      const ins = n.inputs.map(rebuild);
      return ins.every((x, i) => x === n.inputs[i]) ? n : makeNode(n.op, ins, { ...n.attrs });
    })();
    rebuilt.set(n, out);
    return out;
  };

  /** Flattens the contraction tree under n into leaves with consistently renamed letters. */
  const tryReassociate = (n: Node): Node | null => {
    const top = asContraction(n, consumers);
    if (!top) return null;
    let next = 0;
    const fresh = () => LETTERS[next++];
    const leaves: { node: Node; letters: string[] }[] = [];
    let oldFlops = 0;
    const sizes = new Map<string, number>(), tiles = new Map<string, number>();
    const walk = (m: Node, letters: string[], root: boolean): boolean => {
      const c = root ? top : (consumers.get(m) ?? 0) === 1 ? asContraction(m, consumers) : null;
      if (!c) {
        const shape = denseShape(m.schema), tile = tileSizes(m.schema);
        letters.forEach((l, d) => { sizes.set(l, shape[d]!); tiles.set(l, tile[d]!); });
        leaves.push({ node: m, letters });
        return true;
      }
      const rename = new Map<string, string>([...c.out].map((ch, i) => [ch, letters[i]!]));
      for (const ch of c.lx + c.ly) if (!rename.has(ch)) { const f = fresh(); if (!f) return false; rename.set(ch, f); }
      const ok = walk(c.x, [...c.lx].map((ch) => rename.get(ch)!), false) && walk(c.y, [...c.ly].map((ch) => rename.get(ch)!), false);
      oldFlops += 2 * [...new Set([...c.lx, ...c.ly].map((ch) => rename.get(ch)!))].reduce((p, l) => p * (sizes.get(l) ?? 1), 1);
      return ok;
    };
    const outLetters = [...top.out].map(() => fresh()!);
    if (outLetters.some((l) => l === undefined) || !walk(n, outLetters, true) || leaves.length < 3 || leaves.length > MAX_LEAVES) return null;
    // Shared letters must agree on tile size across leaves, or the new joins could not pair tiles.
    for (const { node, letters } of leaves) if (letters.some((l, d) => tileSizes(node.schema)[d] !== tiles.get(l))) return null;

    // Exact DP over subsets of leaves: best[S] = min over splits of best[S1] + best[S2] + flops(S1, S2).
    const L = leaves.length, full = (1 << L) - 1;
    const lettersOf = (S: number) => new Set(leaves.flatMap((lf, i) => (S & (1 << i) ? lf.letters : [])));
    const kept = (S: number) => {
      const inside = lettersOf(S), outside = new Set([...outLetters, ...lettersOf(full & ~S)]);
      return [...inside].filter((l) => outside.has(l));
    };
    const vol = (ls: Iterable<string>) => [...ls].reduce((p, l) => p * sizes.get(l)!, 1);
    const best = new Map<number, { cost: number; split: [number, number] | null }>();
    for (let i = 0; i < L; i++) best.set(1 << i, { cost: 0, split: null });
    for (let S = 1; S <= full; S++) {
      if (best.has(S)) continue;
      let min: { cost: number; split: [number, number] | null } | null = null;
      for (let S1 = (S - 1) & S; S1 > 0; S1 = (S1 - 1) & S) {
        const S2 = S & ~S1;
        if (S1 < S2) continue;
        const cost = best.get(S1)!.cost + best.get(S2)!.cost + 2 * vol(new Set([...kept(S1), ...kept(S2)]));
        if (!min || cost < min.cost) min = { cost, split: [S1, S2] };
      }
      best.set(S, min!);
    }
    if (best.get(full)!.cost >= oldFlops) return null;
    const build = (S: number, order: string[] | null): Lettered => {
      const b = best.get(S)!;
      if (!b.split) { const i = Math.log2(S); return { node: rebuild(leaves[i]!.node), letters: leaves[i]!.letters }; }
      const [S1, S2] = b.split;
      const need = new Set(S === full ? outLetters : kept(S));
      return contract(build(S1, null), build(S2, null), need, order);
    };
    const result = reduceTo(build(full, outLetters), outLetters);
    return schemaEquals(result.node.schema, n.schema) ? result.node : null;
  };

  const outputs = plan.outputs.map(rebuild);
  return outputs.every((o, i) => o === plan.outputs[i]) ? plan : new Plan(outputs, plan.names);
}
