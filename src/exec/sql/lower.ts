/**
 * Lowering of each TRA operator to one SQL SELECT over its inputs' tables, in the scalar payload
 * representation (see kernels.ts): columns k0..k{n-1} (key), i0..i{m-1} (element index inside the tile), v.
 * - join      -> JOIN … ON key equalities (plus the kernel's element-index equalities), kernel as expression;
 * - aggregate -> UNION ALL of the inputs, then GROUP BY the kept key columns and the element indices;
 * - map       -> the kernel as an expression / GROUP BY / window over the element rows;
 * - rekey     -> a projection of key columns (a dropped bound-1 dim disappears, a new one is 0);
 * - filter    -> WHERE on key columns;
 * - retile    -> key arithmetic on global coordinates (k*tile + i - start), with touched output tiles
 *                completed with zeros, as the reference does;
 * - concat    -> key arithmetic: each input's axis key shifted by its offset, UNION ALL.
 */
import { PlanError } from '../../errors.js';
import type { KernelCall } from '../../kernels/registry.js';
import type { Node } from '../../tra/node.js';
import type { AggFn } from '../../tra/ops/aggregate.js';
import { concatOffsets } from '../../tra/ops/concat.js';
import type { KeyAtom } from '../../tra/ops/filter.js';
import type { JoinOn } from '../../tra/ops/join.js';
import { denseShape, tileSizes, type Schema } from '../../tra/schema.js';
import { asScalar, fusesWithSum, icols, kcols, lowerJoin, lowerMap, selectList, type Ctx, type Src } from './kernels.js';
import { sqlInt } from './ident.js';

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

export function srcOf(from: string, schema: Schema, tile = false): Src {
  return { from, keys: schema.keys.length, sizes: tileSizes(schema), bounds: schema.keys, tile, schema };
}

/** Node `n`'s source with its payload (ctx.isTile). */
const srcFor = (n: Node, from: string, ctx: Ctx): Src => srcOf(from, n.schema, ctx.isTile?.(n) ?? false);

/** Column list k0..,i0..,v of a schema. */
export function columnNames(schema: Schema): string[] {
  return [...range(schema.keys.length).map((j) => `k${j}`), ...range(schema.tile.length).map((j) => `i${j}`), 'v'];
}

const CMP: Record<string, string> = { '==': '=', '!=': '<>', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

/**
 * If `node` is a sum aggregation of one einsum join that may be fused into it, that join (the caller
 * then passes the join's inputs' sources to `lowerFused` instead of materialising the join).
 */
export function fusableJoin(node: Node, ctx: Ctx): Node | null {
  if (node.op !== 'aggregate' || node.attrs.fn !== 'sum' || node.inputs.length !== 1) return null;
  const j = node.inputs[0]!;
  if (j.op !== 'join') return null;
  return fusesWithSum(j.attrs.kernel as KernelCall, srcFor(j.inputs[0]!, '', ctx), ctx, srcFor(j.inputs[1]!, '', ctx), j.attrs.on as JoinOn, node.attrs.groupBy as number[]) ? j : null;
}

/** aggregate(sum, groupBy)(join(L, R)) as one SELECT over the join's inputs. */
export function lowerFused(node: Node, join: Node, joinInputs: readonly string[], ctx: Ctx): string {
  const [L, R] = join.inputs.map((n, j) => srcFor(n, joinInputs[j]!, ctx));
  return lowerJoin(join.attrs.kernel as KernelCall, L!, R!, join.attrs.on as JoinOn, ctx, node.attrs.groupBy as number[]);
}

/** The SELECT computing `node` from its inputs' FROM-able sources (quoted tables). */
export function lowerNode(node: Node, inputs: readonly string[], ctx: Ctx): string {
  const raw = node.inputs.map((n, j) => srcFor(n, inputs[j]!, ctx));
  const a = node.attrs;
  if (node.op === 'join') return lowerJoin(a.kernel as KernelCall, raw[0]!, raw[1]!, a.on as JoinOn, ctx);
  const ins = raw.map((s) => asScalar(s, ctx.dialect));
  switch (node.op) {
    case 'map': return lowerMap(a.kernel as KernelCall, ins[0]!, ctx);
    case 'aggregate': return lowerAggregate(ins, a.groupBy as number[], a.fn as AggFn);
    case 'rekey': {
      const x = ins[0]!, keys = a.keys as (number | null)[];
      return `SELECT ${selectList(keys.map((k) => (k === null ? '0' : `x.k${sqlInt(k)}`)), icols('x', x.sizes.length), 'x.v')} FROM ${x.from} AS x`;
    }
    case 'filter': {
      const x = ins[0]!, pred = a.predicate as KeyAtom[];
      const conds = pred.map((p) => {
        const op = CMP[p.cmp];
        if (!op) throw new PlanError(`filter: unknown comparison ${JSON.stringify(p.cmp)}`);
        return `x.k${sqlInt(p.dim)} ${op} ${p.dim2 === undefined ? sqlInt(p.value) : `x.k${sqlInt(p.dim2)}`}`;
      });
      return `SELECT ${selectList(kcols('x', x.keys), icols('x', x.sizes.length), 'x.v')} FROM ${x.from} AS x${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''}`;
    }
    case 'retile': return lowerRetile(node, ins[0]!, ctx);
    case 'concat': {
      const axis = a.axis as number, offs = concatOffsets(node.inputs.map((n) => n.schema), axis);
      return ins.map((x, j) => {
        const keys = kcols('x', x.keys).map((c, d) => (d === axis && offs[j] ? `${c} + ${sqlInt(offs[j])}` : c));
        return `SELECT ${selectList(keys, icols('x', x.sizes.length), 'x.v')} FROM ${x.from} AS x`;
      }).join(' UNION ALL ');
    }
    default: throw new PlanError(`SQL executor has no lowering for operator '${node.op}'`);
  }
}

function lowerAggregate(ins: readonly Src[], groupBy: readonly number[], fn: AggFn): string {
  const x = ins[0]!, m = x.sizes.length;
  const idx = icols('u', m), cols = [...range(x.keys).map((j) => `k${j}`), ...range(m).map((j) => `i${j}`), 'v'].join(', ');
  const keys = groupBy.map((p) => `u.k${sqlInt(p)}`);
  // One input grouped by all of its key positions: every group is one tuple, so it is a projection.
  if (ins.length === 1 && groupBy.length === x.keys) return `SELECT ${selectList(keys, idx, 'u.v')} FROM ${x.from} AS u`;
  const agg = fn === 'sum' ? 'SUM' : fn === 'max' ? 'MAX' : fn === 'min' ? 'MIN' : null;
  if (!agg) throw new PlanError(`aggregate: unknown fn ${JSON.stringify(fn)}`);
  const union = ins.map((s, j) => `SELECT ${cols} FROM ${s.from} AS s${j}`).join(' UNION ALL ');
  const group = [...keys, ...idx];
  return `SELECT ${selectList(keys, idx, `${agg}(u.v)`)} FROM (${union}) AS u${group.length ? ` GROUP BY ${group.join(', ')}` : ' HAVING COUNT(*) > 0'}`;
}

function lowerRetile(node: Node, x: Src, ctx: Ctx): string {
  const start = node.attrs.start as number[];
  const inS = node.inputs[0]!.schema, outS = node.schema;
  const inT = tileSizes(inS), outT = tileSizes(outS), outShape = denseShape(outS), inShape = denseShape(inS);
  const r = inT.length, d = ctx.dialect;
  if (r === 0) return `SELECT ${selectList([], [], 'x.v')} FROM ${x.from} AS x`;
  const g = range(r).map((j) => `x.k${j} * ${sqlInt(inT[j])} + x.i${j}${start[j] ? ` - ${sqlInt(start[j])}` : ''}`);
  const kOf = (e: string, j: number) => d.intDiv(e, sqlInt(outT[j]));
  const iOf = (e: string, j: number) => `(${e}) % ${sqlInt(outT[j])}`;
  // Pure re-tiling where every output tile lies inside one input tile: each output element has its input element.
  const plain = start.every((s) => s === 0) && outShape.every((n, j) => n === inShape[j]) && inT.every((t, j) => t % outT[j]! === 0);
  if (plain) return `SELECT ${selectList(g.map(kOf), g.map(iOf), 'x.v')} FROM ${x.from} AS x`;
  const inside = g.map((e, j) => `${e} >= 0 AND ${e} < ${sqlInt(outShape[j])}`).join(' AND ');
  const moved = `SELECT ${[...g.map((e, j) => `${kOf(e, j)} AS k${j}`), ...g.map((e, j) => `${iOf(e, j)} AS i${j}`), 'x.v AS v'].join(', ')} FROM ${x.from} AS x WHERE ${inside}`;
  // Output tiles touched by some input element, every element of each, zeros where nothing lands.
  const touched = `SELECT DISTINCT ${range(r).map((j) => `p.k${j}`).join(', ')} FROM (${moved}) AS p`;
  const grids = range(r).map((j) => `CROSS JOIN generate_series(0, ${sqlInt(outT[j]! - 1)}) AS e${j}(x)`).join(' ');
  const fits = range(r).map((j) => `t.k${j} * ${sqlInt(outT[j])} + e${j}.x < ${sqlInt(outShape[j])}`).join(' AND ');
  const full = `SELECT ${[...range(r).map((j) => `t.k${j} AS k${j}`), ...range(r).map((j) => `e${j}.x AS i${j}`)].join(', ')} FROM (${touched}) AS t ${grids} WHERE ${fits}`;
  // Moved elements plus a zero for every element of every touched tile, summed: a hash aggregate, which
  // both engines plan well (a LEFT JOIN against the generated grid sent PostgreSQL into nested loops).
  const cols = [...range(r).map((j) => `k${j}`), ...range(r).map((j) => `i${j}`)];
  const union = `SELECT ${cols.join(', ')}, v FROM (${moved}) AS m UNION ALL SELECT ${cols.join(', ')}, 0 AS v FROM (${full}) AS z`;
  return `SELECT ${selectList(kcols('u', r), icols('u', r), 'SUM(u.v)')} FROM (${union}) AS u GROUP BY ${cols.map((c) => `u.${c}`).join(', ')}`;
}
