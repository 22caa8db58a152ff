/**
 * Operators lowered directly on the tile payload (payload.ts): a node stored as tiles whose inputs are all
 * stored as tiles, and whose work leaves each tile's layout alone, is one SELECT over list columns —
 * no unnest, no GROUP BY, one row per tile:
 * - map of an elementwise function (unary): the function applied to every list element;
 * - join of an elementwise kernel (binary, binaryPartial, unaryGrad, second) between tiles of one layout
 *   (same tile shape, no broadcasting, no ragged tiles): the two lists combined position by position;
 * - rekey, filter, a one-input aggregate grouped by every key, concat: key arithmetic, the list untouched.
 * Anything else returns null and goes through the scalar lowering (lower.ts), gathered back into tiles.
 */
import type { BinaryFn, UnaryFn } from '../../kernels/fns.js';
import { binaryAxes } from '../../kernels/defs.js';
import type { KernelCall } from '../../kernels/registry.js';
import type { Node } from '../../tra/node.js';
import { concatOffsets } from '../../tra/ops/concat.js';
import type { KeyAtom } from '../../tra/ops/filter.js';
import type { JoinOn } from '../../tra/ops/join.js';
import { tileSizes } from '../../tra/schema.js';
import { sqlInt } from './ident.js';
import { binaryExpr, binaryPartialExpr, kcols, unaryDerivExpr, unaryExpr, type Ctx } from './kernels.js';
import { isRagged } from './payload.js';

const CMP: Record<string, string> = { '==': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/** `e AS k0, …, t AS t`: the select list of a relation stored one row per tile. */
export const sel = (keys: readonly string[], t: string): string => [...keys.map((e, j) => `${e} AS k${j}`), `${t} AS t`].join(', ');

/** The tile-payload SELECT computing `node`, or null when it needs the scalar lowering. */
export function lowerTile(node: Node, inputs: readonly string[], ctx: Ctx): string | null {
  const isTile = ctx.isTile;
  if (!isTile || !isTile(node)) return null;
  // 'second' takes only the keys of its left operand: that one may be scalar rows.
  const second = node.op === 'join' && (node.attrs.kernel as KernelCall).name === 'second';
  if (!node.inputs.every((x, j) => isTile(x) || (second && j === 0))) return null;
  const d = ctx.dialect, a = node.attrs;
  switch (node.op) {
    case 'map': {
      const call = a.kernel as KernelCall;
      if (call.name !== 'unary') return null;
      const x = node.inputs[0]!;
      return `SELECT ${sel(kcols('x', x.schema.keys.length), d.mapList('x.t', (e) => unaryExpr(call.attrs.fn as UnaryFn, e, call.attrs, ctx)))} FROM ${inputs[0]} AS x`;
    }
    case 'join': {
      const call = a.kernel as KernelCall;
      const [Ln, Rn] = node.inputs as [Node, Node];
      const ls = tileSizes(Ln.schema), rs = tileSizes(Rn.schema);
      if (isRagged(Ln.schema) || isRagged(Rn.schema) || ls.length !== rs.length || ls.some((n, j) => n !== rs[j])) return null;
      let body: (l: string, r: string) => string;
      switch (call.name) {
        case 'binary':
        case 'binaryPartial': {
          const { a: am, b: bm } = binaryAxes(call.name, call.attrs, [ls, rs]);
          if (am.length !== ls.length || bm.length !== rs.length || am.some((x, j) => x !== j || bm[j] !== j)) return null;
          const fn = call.attrs.fn as BinaryFn;
          body = call.name === 'binary' ? (l, r) => binaryExpr(fn, l, r) : (l, r) => binaryPartialExpr(fn, call.attrs.wrt === 1 ? 1 : 0, l, r);
          break;
        }
        case 'unaryGrad': body = (l, r) => `${r} * ${unaryDerivExpr(call.attrs.fn as UnaryFn, l, call.attrs, ctx)}`; break;
        case 'second': {
          if (isTile(Ln)) return joinSelect(node, inputs, 'r.t');
          const keys = Ln.schema.keys.map((_, j) => `x.k${j}`).join(', ');
          return joinSelect(node, [keys ? `(SELECT DISTINCT ${keys} FROM ${inputs[0]} AS x)` : `(SELECT 1 AS one_ FROM ${inputs[0]} AS x LIMIT 1)`, inputs[1]!], 'r.t');
        }
        default: return null;
      }
      return joinSelect(node, inputs, d.zipLists('l.t', 'r.t', body));
    }
    case 'rekey': {
      const keys = (a.keys as (number | null)[]).map((k) => (k === null ? '0' : `x.k${sqlInt(k)}`));
      return `SELECT ${sel(keys, 'x.t')} FROM ${inputs[0]} AS x`;
    }
    case 'filter': {
      const x = node.inputs[0]!;
      const conds = (a.predicate as KeyAtom[]).map((p) => {
        const op = CMP[p.cmp];
        return op ? `x.k${sqlInt(p.dim)} ${op} ${p.dim2 === undefined ? sqlInt(p.value) : `x.k${sqlInt(p.dim2)}`}` : null;
      });
      if (conds.some((c) => c === null)) return null; // the scalar lowering raises the PlanError
      return `SELECT ${sel(kcols('x', x.schema.keys.length), 'x.t')} FROM ${inputs[0]} AS x${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
    }
    case 'aggregate': {
      const groupBy = a.groupBy as number[];
      if (node.inputs.length !== 1 || groupBy.length !== node.inputs[0]!.schema.keys.length) return null;
      return `SELECT ${sel(groupBy.map((p) => `x.k${sqlInt(p)}`), 'x.t')} FROM ${inputs[0]} AS x`;
    }
    case 'concat': {
      if (node.inputs.some((n) => isRagged(n.schema))) return null;
      const axis = a.axis as number, offs = concatOffsets(node.inputs.map((n) => n.schema), axis);
      return node.inputs.map((n, j) => {
        const keys = kcols('x', n.schema.keys.length).map((c, k) => (k === axis && offs[j] ? `${c} + ${sqlInt(offs[j])}` : c));
        return `SELECT ${sel(keys, 'x.t')} FROM ${inputs[j]} AS x`;
      }).join(' UNION ALL ');
    }
    default: return null;
  }
}

/** Output keys of join(L, R) (L's keys, then R's unjoined keys, over aliases l and r) and its key conditions. */
export function joinParts(node: Node): { keys: string[]; conds: string[] } {
  const [Ln, Rn] = node.inputs as [Node, Node];
  const on = node.attrs.on as JoinOn, joined = new Set(on.map(([, r]) => r));
  const keys = [...kcols('l', Ln.schema.keys.length), ...Rn.schema.keys.map((_, r) => r).filter((r) => !joined.has(r)).map((r) => `r.k${r}`)];
  return { keys, conds: on.map(([l, r]) => `l.k${sqlInt(l)} = r.k${sqlInt(r)}`) };
}

/** SELECT over join(L, R) keyed like the scalar join (L's key, then R's unjoined keys) with tile `t`. */
export function joinSelect(node: Node, inputs: readonly string[], t: string): string {
  const { keys, conds } = joinParts(node);
  return `SELECT ${sel(keys, t)} FROM ${inputs[0]} AS l JOIN ${inputs[1]} AS r ON ${conds.length ? conds.join(' AND ') : 'TRUE'}`;
}
