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
import type { KeySet } from './keys.js';
import { siteOf, type Placement } from './placement.js';

export const dtypeBytes = (s: Schema): number => (s.dtype === 'float64' ? 8 : 4);
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Key spaces up to this size are enumerated exactly; larger ones use averages. */
const ENUMERATE_LIMIT = 200_000;

/** Visits each present key: the analysed key set, or every key of a dense relation when small enough. */
function eachKey(s: Schema, keys: KeySet, fn: (k: number[]) => void): boolean {
  if (keys) { for (const k of keys) fn(k); return true; }
  if (prod(s.keys) > ENUMERATE_LIMIT) return false;
  forEachKey(s.keys, fn);
  return true;
}

/** Average bytes of a relation when its keys cannot be enumerated. */
function approxBytes(s: Schema, density: number): number {
  const tiled = new Set(s.tile.map((t) => t.key));
  const untiledTuples = prod(s.keys.filter((_, i) => !tiled.has(i)));
  return prod(s.tile.map((t) => (t.key === null ? t.size : t.extent))) * untiledTuples * dtypeBytes(s) * density;
}

/** Total tile bytes of a relation. */
export function relationBytes(s: Schema, keys: KeySet = null, density = 1): number {
  let bytes = 0;
  const b = dtypeBytes(s);
  return eachKey(s, keys, (k) => { bytes += prod(tileShapeAt(s, k)) * b * (keys ? 1 : density); }) ? bytes : approxBytes(s, density);
}

/** Bytes held on each site under a placement (replicated: the whole relation on every site). */
export function bytesPerSite(s: Schema, keys: KeySet, p: Placement, sites: number, density = 1): number[] {
  const per = new Array<number>(sites).fill(0);
  if (p.kind === 'replicated') return per.fill(relationBytes(s, keys, density));
  const b = dtypeBytes(s);
  const exact = p.kind !== 'scattered' && eachKey(s, keys, (k) => { per[siteOf(k, p, sites)]! += prod(tileShapeAt(s, k)) * b * (keys ? 1 : density); });
  if (exact) return per;
  const total = relationBytes(s, keys, density);
  return p.kind === 'single' ? per.map((_, i) => (i === 0 ? total : 0)) : per.fill(total / sites);
}

/** Bytes moved to turn placement `from` into `to` (tuples already at a destination do not move). */
export function exchangeBytes(s: Schema, keys: KeySet, from: Placement, to: Placement, sites: number, density = 1): number {
  if (sites === 1 || from.kind === 'replicated') return 0;
  let moved = 0;
  const b = dtypeBytes(s);
  const exact = eachKey(s, keys, (k) => {
    const src = siteOf(k, from, sites), bytes = prod(tileShapeAt(s, k)) * b * (keys ? 1 : density);
    if (to.kind === 'replicated') moved += bytes * (sites - 1);
    else if (siteOf(k, to, sites) !== src) moved += bytes;
  });
  if (exact) return moved;
  const total = relationBytes(s, keys, density);
  return to.kind === 'replicated' ? total * (sites - 1) : total * (sites - 1) / sites;
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
