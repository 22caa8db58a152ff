/**
 * The reference interpreter's rule table: one evaluation function per TRA operator, written for clarity
 * (hash join, hash aggregation, direct tile copies). Other executors are checked against these.
 */
import { PlanError } from '../../errors.js';
import { applyKernel, type KernelCall } from '../../kernels/registry.js';
import type { Node } from '../../tra/node.js';
import type { AggFn } from '../../tra/ops/aggregate.js';
import { concatOffsets } from '../../tra/ops/concat.js';
import { retileTargets } from '../../tra/ops/retile.js';
import { evalPredicate, type KeyAtom } from '../../tra/ops/filter.js';
import type { JoinOn } from '../../tra/ops/join.js';
import type { OpName } from '../../tra/ops/index.js';
import { keyString, Relation } from '../../tra/relation.js';
import { denseShape, tileShapeAt, tileSizes, type Schema } from '../../tra/schema.js';
import { copyBox, makeTile, type DType, type Tile } from '../../tile.js';

export interface EvalContext { dtype: DType; backend: string; name: string }
type Evaluate = (node: Node, inputs: Relation[], ctx: EvalContext) => Relation;

const out = (node: Node, ctx: EvalContext): Relation => new Relation({ ...node.schema, dtype: ctx.dtype }, ctx.name);

/** Hash join: calls `emit` with each matched pair's output key and kernel result. */
function joinPairs(node: Node, L: Relation, R: Relation, ctx: EvalContext, emit: (key: number[], tile: Tile) => void): void {
  const on = node.attrs.on as JoinOn, kernel = node.attrs.kernel as KernelCall;
  const free = R.schema.keys.map((_, r) => r).filter((r) => !on.some(([, rr]) => rr === r));
  const index = new Map<string, { key: readonly number[]; tile: Tile }[]>();
  for (const t of R.tuples()) {
    const k = keyString(on.map(([, r]) => t.key[r]!));
    let bucket = index.get(k);
    if (!bucket) index.set(k, (bucket = []));
    bucket.push(t);
  }
  for (const l of L.tuples()) {
    for (const r of index.get(keyString(on.map(([lp]) => l.key[lp]!))) ?? []) {
      emit([...l.key, ...free.map((f) => r.key[f]!)], applyKernel(ctx.backend, kernel, [l.tile, r.tile], ctx.dtype));
    }
  }
}

function join(node: Node, [L, R]: Relation[], ctx: EvalContext): Relation {
  const res = out(node, ctx);
  joinPairs(node, L!, R!, ctx, (key, tile) => res.set(key, tile));
  return res;
}

/** Combines tiles into groups; a group's first tile is kept by reference and copied only when a second one must be combined into it. */
class Groups {
  private readonly groups = new Map<string, { key: number[]; tile: Tile; owned: boolean }>();
  constructor(private readonly groupBy: readonly number[], private readonly fn: AggFn, private readonly dtype: DType) {}
  add(fullKey: readonly number[], tile: Tile): void {
    const key = this.groupBy.map((p) => fullKey[p]!), ks = keyString(key);
    const g = this.groups.get(ks);
    if (!g) { this.groups.set(ks, { key, tile, owned: false }); return; }
    // Sparse tiles add up value by value only when they share one pattern (gradients sampled at A's nonzeros).
    if ((g.tile.csr || tile.csr) && g.tile.csr !== tile.csr) throw new PlanError(`aggregate: tiles in group (${key}) are sparse with different patterns`);
    if (!g.owned) { g.tile = g.tile.csr ? { ...g.tile, data: g.tile.data.slice() } : makeTile(g.tile.shape, this.dtype, g.tile.data.slice()); g.owned = true; }
    const a = g.tile.data, b = tile.data;
    if (a.length !== b.length) throw new PlanError(`aggregate: tiles in group (${key}) have different shapes [${g.tile.shape}] and [${tile.shape}]`);
    if (this.fn === 'sum') for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
    else if (this.fn === 'max') for (let i = 0; i < a.length; i++) { if (b[i]! > a[i]! || Number.isNaN(b[i]!)) a[i] = b[i]!; }
    else for (let i = 0; i < a.length; i++) { if (b[i]! < a[i]! || Number.isNaN(b[i]!)) a[i] = b[i]!; }
  }
  into(res: Relation): Relation { for (const g of this.groups.values()) res.set(g.key, g.tile); return res; }
}

function aggregate(node: Node, inputs: Relation[], ctx: EvalContext): Relation {
  const groups = new Groups(node.attrs.groupBy as number[], node.attrs.fn as AggFn, ctx.dtype);
  for (const R of inputs) for (const t of R.tuples()) groups.add(t.key, t.tile);
  return groups.into(out(node, ctx));
}

/**
 * aggregate(join(L, R)) in one pass: each pair's kernel result is combined into its group at once, so
 * the join's output (one tile per contracted key) is never held in full. Same result as the two steps.
 */
export function joinAggregate(joinNode: Node, aggNode: Node, [L, R]: Relation[], ctx: EvalContext): Relation {
  const groups = new Groups(aggNode.attrs.groupBy as number[], aggNode.attrs.fn as AggFn, ctx.dtype);
  joinPairs(joinNode, L!, R!, ctx, (key, tile) => groups.add(key, tile));
  return groups.into(out(aggNode, ctx));
}

function map(node: Node, [R]: Relation[], ctx: EvalContext): Relation {
  const res = out(node, ctx), kernel = node.attrs.kernel as KernelCall;
  for (const t of R!.tuples()) res.set(t.key, applyKernel(ctx.backend, kernel, [t.tile], ctx.dtype));
  return res;
}

function rekey(node: Node, [R]: Relation[], ctx: EvalContext): Relation {
  const keys = node.attrs.keys as (number | null)[], res = out(node, ctx);
  for (const t of R!.tuples()) res.set(keys.map((k) => (k === null ? 0 : t.key[k]!)), t.tile);
  return res;
}

function filter(node: Node, [R]: Relation[], ctx: EvalContext): Relation {
  const pred = node.attrs.predicate as KeyAtom[], res = out(node, ctx);
  for (const t of R!.tuples()) if (evalPredicate(pred, t.key)) res.set(t.key, t.tile);
  return res;
}

/** Copies every input tile's overlap with every output tile it touches; untouched output tiles stay absent. */
function retile(node: Node, [R]: Relation[], ctx: EvalContext): Relation {
  const start = node.attrs.start as number[];
  const inS: Schema = R!.schema, outS = node.schema;
  const inT = tileSizes(inS), outT = tileSizes(outS), outShape = denseShape(outS);
  const res = out(node, ctx);
  const tiles = new Map<string, Tile>();
  for (const { key, tile } of R!.tuples()) {
    const target = retileTargets(key, tile.shape, inT, start, outT, outShape);
    if (!target) continue;
    const { lo, hi } = target;
    for (const ok of target.keys) {
      const ks = keyString(ok);
      let dst = tiles.get(ks);
      if (!dst) tiles.set(ks, (dst = makeTile(tileShapeAt(outS, ok), ctx.dtype)));
      const bLo = ok.map((k, d) => Math.max(lo[d]!, k * outT[d]!));
      const bHi = ok.map((k, d) => Math.min(hi[d]!, k * outT[d]! + dst!.shape[d]!));
      copyBox(tile, bLo.map((b, d) => b + start[d]! - key[d]! * inT[d]!), dst, bLo.map((b, d) => b - ok[d]! * outT[d]!), bLo.map((b, d) => bHi[d]! - b));
    }
  }
  for (const [ks, t] of tiles) res.set(ks === '' ? [] : ks.split(',').map(Number), t);
  return res;
}

function concat(node: Node, inputs: Relation[], ctx: EvalContext): Relation {
  const axis = node.attrs.axis as number, res = out(node, ctx);
  const offs = concatOffsets(inputs.map((r) => r.schema), axis);
  inputs.forEach((R, i) => {
    for (const t of R.tuples()) res.set(t.key.map((k, d) => (d === axis ? k + offs[i]! : k)), t.tile);
  });
  return res;
}

export const REFERENCE_OPS: Record<Exclude<OpName, 'input' | 'const'>, Evaluate> = { join, aggregate, map, rekey, filter, retile, concat };
