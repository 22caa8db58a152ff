/**
 * The cost model: flops of each operator, bytes of each relation (exact for dense relations, by
 * enumerating keys and their ragged tile shapes; scaled by a density estimate otherwise), and bytes each
 * exchange moves under the placement hash. Predictions are what the in-process executor measures.
 */
import { forEachKey } from '../tra/relation.js';
import type { Node } from '../tra/node.js';
import { tileShapeAt, type Schema } from '../tra/schema.js';
import type { KernelCall } from '../kernels/registry.js';
import { parseTileSpec } from '../kernels/tile_spec.js';
import { siteOf, type Placement } from './placement.js';

export const dtypeBytes = (s: Schema): number => (s.dtype === 'float64' ? 8 : 4);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Key spaces up to this size are enumerated exactly; larger ones use averages. */
const ENUMERATE_LIMIT = 200_000;

export interface RelationStats {
  /** Expected number of tuples. */
  tuples: number;
  /** Expected total tile bytes. */
  bytes: number;
  /** Fraction of the key space present (1 = dense). */
  density: number;
}

export function relationStats(s: Schema, density = 1): RelationStats {
  const space = prod(s.keys);
  let bytes = 0;
  if (space <= ENUMERATE_LIMIT) forEachKey(s.keys, (k) => { bytes += prod(tileShapeAt(s, k)); });
  else bytes = prod(s.tile.map((t) => (t.key === null ? t.size : t.extent))) * prod(s.keys.filter((_, i) => !s.tile.some((t) => t.key === i)));
  return { tuples: space * density, bytes: bytes * dtypeBytes(s) * density, density };
}

/** Bytes that stay on each site under a placement (replicated: the whole relation on every site). */
export function bytesPerSite(s: Schema, p: Placement, sites: number, density = 1): number[] {
  const per = new Array<number>(sites).fill(0);
  const b = dtypeBytes(s);
  if (p.kind === 'replicated') return per.fill(relationStats(s, density).bytes);
  if (prod(s.keys) > ENUMERATE_LIMIT) { const total = relationStats(s, density).bytes; return p.kind === 'single' ? per.map((_, i) => (i === 0 ? total : 0)) : per.fill(total / sites); }
  forEachKey(s.keys, (k) => { per[siteOf(k, p, sites)]! += prod(tileShapeAt(s, k)) * b * density; });
  return per;
}

/** Bytes moved to turn placement `from` into `to` (tuples already at a destination do not move). */
export function exchangeBytes(s: Schema, from: Placement, to: Placement, sites: number, density = 1): number {
  if (sites === 1 || from.kind === 'replicated') return 0;
  if (prod(s.keys) > ENUMERATE_LIMIT) {
    const total = relationStats(s, density).bytes;
    if (to.kind === 'replicated') return total * (sites - 1);
    return from.kind === to.kind && JSON.stringify(from) === JSON.stringify(to) ? 0 : total * (sites - 1) / sites;
  }
  let moved = 0;
  const b = dtypeBytes(s);
  forEachKey(s.keys, (k) => {
    const src = siteOf(k, from, sites), bytes = prod(tileShapeAt(s, k)) * b * density;
    if (to.kind === 'replicated') moved += bytes * (sites - 1);
    else if (siteOf(k, to, sites) !== src) moved += bytes;
  });
  return moved;
}

/** Flops of one kernel call on tiles of the given shapes (multiply-adds count 2). */
export function kernelFlops(k: KernelCall, shapes: readonly (readonly number[])[], out: readonly number[]): number {
  if (k.name === 'einsum') {
    const { inputs } = parseTileSpec(k.attrs.spec as string);
    const sizes = new Map<string, number>();
    inputs.forEach((ls, i) => [...ls].forEach((c, d) => sizes.set(c, shapes[i]![d]!)));
    return (inputs.length > 1 ? 2 : 1) * prod([...sizes.values()]);
  }
  return Math.max(prod(out), ...shapes.map(prod)) * (k.name === 'softmax' || k.name === 'logsumexp' ? 4 : 1);
}

/** Total flops of an operator over its whole (dense) output, from nominal tile shapes. */
export function nodeFlops(n: Node): number {
  const nominal = (s: Schema) => s.tile.map((t) => t.size);
  const tuples = prod(n.schema.keys);
  if (n.op === 'join' || n.op === 'map') {
    return tuples * kernelFlops(n.attrs.kernel as KernelCall, n.inputs.map((x) => nominal(x.schema)), nominal(n.schema));
  }
  if (n.op === 'aggregate') return n.inputs.reduce((s, x) => s + prod(x.schema.keys) * prod(nominal(x.schema)), 0);
  return 0;
}
