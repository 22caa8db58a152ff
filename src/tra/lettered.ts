/**
 * Building blocks for lowering Einstein-notation steps to TRA: each takes and returns dense tensor nodes
 * annotated with one letter per dimension, and emits the TRA operators that realise a step (squeeze,
 * re-tile, diagonal, reduce, contract). The front end's einsum and broadcasting ops and the optimizer's
 * re-association pass lower through the same code.
 */
import * as tra from './build.js';
import type { Node } from './node.js';
import { denseShape, tileSizes } from './schema.js';

/** A dense tensor node whose dimension d carries letter letters[d]. */
export interface Lettered { node: Node; letters: string[] }

const einsumK = (spec: string) => ({ name: 'einsum', attrs: { spec } });

/** Drops the (size-1) dims at `dims`. */
export function squeeze(x: Lettered, dims: readonly number[]): Lettered {
  if (dims.length === 0) return x;
  const keep = x.letters.map((_, d) => d).filter((d) => !dims.includes(d));
  const letters = keep.map((d) => x.letters[d]!);
  const mapped = tra.map(x.node, einsumK(`${x.letters.join('')}->${letters.join('')}`));
  return { node: tra.rekey(mapped, keep), letters };
}

/** Re-tiles so that dim d has tile size tiles[d] (no-op when it already has). */
export function retileTo(node: Node, tiles: readonly number[]): Node {
  const cur = tileSizes(node.schema), shape = denseShape(node.schema);
  const want = tiles.map((t, d) => Math.min(t, Math.max(shape[d]!, 1)));
  if (want.every((t, d) => t === cur[d])) return node;
  return tra.retile(node, shape.map(() => 0), shape, want);
}

/**
 * Keeps the letters in `keep` (in that order) and sums out the others: a tile einsum, then an
 * aggregation over the dropped key dims (or just a rekey when nothing is dropped).
 */
export function reduceTo(x: Lettered, keep: readonly string[], fn: 'sum' | 'max' | 'min' = 'sum'): Lettered {
  const cur = x.letters.join(''), want = keep.join('');
  if (cur === want) return x;
  const pos = keep.map((c) => x.letters.indexOf(c));
  const dropped = x.letters.length !== keep.length;
  let tiles: Node;
  if (fn === 'sum') tiles = tra.map(x.node, einsumK(`${cur}->${want}`));
  else {
    const axes = x.letters.map((c, d) => (keep.includes(c) ? -1 : d)).filter((d) => d >= 0);
    const reduced = tra.map(x.node, { name: 'reduce', attrs: { fn, axes } });
    const rest = x.letters.filter((c) => keep.includes(c)).join('');
    tiles = rest === want ? reduced : tra.map(reduced, einsumK(`${rest}->${want}`));
  }
  // After the tile kernel, tile dim i holds letter keep[i] but is still tied to key dim pos[i].
  const node = dropped ? tra.aggregate(tiles, pos, fn) : tra.rekey(tiles, pos);
  return { node, letters: [...keep] };
}

/** Takes the diagonal over every repeated letter at once: filter equal keys, tile diagonal, drop the copies. */
export function diagonals(x: Lettered): Lettered {
  const first = x.letters.map((c) => x.letters.indexOf(c));
  const copies = first.map((f, i) => (f !== i ? i : -1)).filter((i) => i >= 0);
  if (copies.length === 0) return x;
  const filtered = tra.filter(x.node, copies.map((i) => ({ dim: first[i]!, cmp: '==' as const, dim2: i })));
  const keep = x.letters.map((_, i) => i).filter((i) => !copies.includes(i));
  const letters = keep.map((i) => x.letters[i]!);
  const mapped = tra.map(filtered, einsumK(`${x.letters.join('')}->${letters.join('')}`));
  return { node: tra.aggregate(mapped, keep, 'sum'), letters };
}

/**
 * Joins x and y on their shared letters with one tile einsum that keeps the letters still needed,
 * then aggregates away the contracted key dims. `order` fixes the result's letter order when known.
 */
export function contract(x: Lettered, y: Lettered, need: Set<string>, order: readonly string[] | null): Lettered {
  const shared = x.letters.filter((c) => y.letters.includes(c));
  const on = shared.map((c) => [x.letters.indexOf(c), y.letters.indexOf(c)] as [number, number]);
  const joinKeys = [...x.letters, ...y.letters.filter((c) => !shared.includes(c))];
  const keep = order && order.every((c) => joinKeys.includes(c)) && joinKeys.every((c) => order.includes(c) || !need.has(c))
    ? [...order] : joinKeys.filter((c) => need.has(c));
  const joined = tra.join(x.node, y.node, on, { name: 'einsum', attrs: { spec: `${x.letters.join('')},${y.letters.join('')}->${keep.join('')}` } });
  const pos = keep.map((c) => joinKeys.indexOf(c));
  const node = keep.length === joinKeys.length ? (pos.every((p, i) => p === i) ? joined : tra.rekey(joined, pos)) : tra.aggregate(joined, pos, 'sum');
  return { node, letters: keep };
}
