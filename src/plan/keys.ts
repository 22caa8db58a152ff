/**
 * Key analysis: which keys each node's relation will hold, derived from the plan alone (inputs are taken
 * dense unless a density is given; constants are known exactly). Filters, diagonals, sparse constants and
 * windows make relations sparse; knowing their keys makes the cost model's byte counts exact. Gives up
 * (null: use dense estimates) when a key set would be large.
 */
import type { Node } from '../tra/node.js';
import type { KeyAtom } from '../tra/ops/filter.js';
import { evalPredicate } from '../tra/ops/filter.js';
import { concatOffsets } from '../tra/ops/concat.js';
import type { JoinOn } from '../tra/ops/join.js';
import { retileTargets } from '../tra/ops/retile.js';
import { forEachKey, keyString, type Relation } from '../tra/relation.js';
import { denseShape, tileShapeAt, tileSizes } from '../tra/schema.js';

export const KEY_LIMIT = 100_000;
export type KeySet = number[][] | null;

export function keyAnalysis(density: (n: Node) => number): (n: Node) => KeySet {
  const memo = new Map<Node, KeySet>();
  const of = (n: Node): KeySet => {
    if (memo.has(n)) return memo.get(n)!;
    memo.set(n, null);
    const ks = compute(n);
    const v = ks && ks.length <= KEY_LIMIT ? ks : null;
    memo.set(n, v);
    return v;
  };
  const compute = (n: Node): KeySet => {
    const ins = n.inputs.map(of);
    if (ins.some((k) => k === null)) return null;
    const [a, b] = ins as number[][][];
    switch (n.op) {
      case 'input': {
        if (density(n) !== 1 || n.schema.keys.reduce((p, q) => p * q, 1) > KEY_LIMIT) return null;
        const all: number[][] = [];
        forEachKey(n.schema.keys, (k) => all.push(k));
        return all;
      }
      case 'const': return [...(n.attrs.value as Relation).tuples()].map((t) => [...t.key]);
      case 'map': return a!;
      case 'filter': return a!.filter((k) => evalPredicate(n.attrs.predicate as KeyAtom[], k));
      case 'rekey': return a!.map((k) => (n.attrs.keys as (number | null)[]).map((p) => (p === null ? 0 : k[p]!)));
      case 'join': {
        const on = n.attrs.on as JoinOn;
        const free = n.inputs[1]!.schema.keys.map((_, r) => r).filter((r) => !on.some(([, rr]) => rr === r));
        const index = new Map<string, number[][]>();
        for (const k of b!) { const s = keyString(on.map(([, r]) => k[r]!)); index.set(s, [...(index.get(s) ?? []), k]); }
        const out: number[][] = [];
        for (const l of a!) for (const r of index.get(keyString(on.map(([p]) => l[p]!))) ?? []) {
          out.push([...l, ...free.map((f) => r[f]!)]);
          if (out.length > KEY_LIMIT) return null;
        }
        return out;
      }
      case 'aggregate': {
        const g = n.attrs.groupBy as number[], seen = new Map<string, number[]>();
        for (const ks of ins as number[][][]) for (const k of ks) { const p = g.map((d) => k[d]!); seen.set(keyString(p), p); }
        return [...seen.values()];
      }
      case 'retile': {
        const x = n.inputs[0]!.schema, seen = new Map<string, number[]>();
        for (const k of a!) {
          const t = retileTargets(k, tileShapeAt(x, k), tileSizes(x), n.attrs.start as number[], tileSizes(n.schema), denseShape(n.schema));
          for (const o of t?.keys ?? []) seen.set(keyString(o), o);
        }
        return [...seen.values()];
      }
      case 'concat': {
        const axis = n.attrs.axis as number, offs = concatOffsets(n.inputs.map((x) => x.schema), axis);
        return (ins as number[][][]).flatMap((ks, i) => ks.map((k) => k.map((v, d) => (d === axis ? v + offs[i]! : v))));
      }
    }
  };
  return of;
}
