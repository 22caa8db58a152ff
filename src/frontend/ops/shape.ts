/**
 * Shape ops. transpose is a rekey plus a tile permutation; slice, pad and re-tiling are retile windows;
 * concat is the TRA concat when tiles line up and a sum of zero-padded windows when they do not;
 * reshape assembles one tile (it mixes dimensions, which tiles cannot follow) and re-tiles if asked.
 */
import { ShapeError } from '../../errors.js';
import { sizeOf } from '../../tile.js';
import * as tra from '../../tra/build.js';
import { retileTo } from '../../tra/lettered.js';
import { Tensor } from '../tensor.js';
import { normAxes } from './reduce.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? normAxes(x, perm, 'transpose') : x.shape.map((_, d) => x.rank - 1 - d);
  if (p.length !== x.rank || new Set(p).size !== p.length) throw new ShapeError(`transpose: [${perm}] is not a permutation of ${x.rank} axes`, { perm });
  if (p.every((d, i) => d === i)) return x;
  const inL = x.shape.map((_, d) => LETTERS[d]!).join(''), outL = p.map((d) => LETTERS[d]!).join('');
  return new Tensor(tra.rekey(tra.map(x.node, { name: 'einsum', attrs: { spec: `${inL}->${outL}` } }), p));
}

/** Re-tiles a tensor: the same values under another tiling. */
export function retile(x: Tensor, tile: readonly number[]): Tensor {
  if (tile.length !== x.rank) throw new ShapeError(`retile: tiling [${tile}] has rank ${tile.length}, tensor has rank ${x.rank}`);
  return new Tensor(retileTo(x.node, tile));
}

/** x[start : start+size] along every dim (size -1 = to the end). */
export function slice(x: Tensor, start: readonly number[], size: readonly number[]): Tensor {
  if (start.length !== x.rank || size.length !== x.rank) throw new ShapeError(`slice: start [${start}] and size [${size}] must each have ${x.rank} entries`);
  const shape = size.map((s, d) => (s === -1 ? x.shape[d]! - start[d]! : s));
  shape.forEach((s, d) => {
    if (!Number.isInteger(start[d]) || start[d]! < 0 || !Number.isInteger(s) || s < 0 || start[d]! + s > x.shape[d]!) {
      throw new ShapeError(`slice: dim ${d} range [${start[d]}, ${start[d]! + s}) is outside [0, ${x.shape[d]})`, { dim: d });
    }
  });
  return new Tensor(tra.retile(x.node, start, shape, x.tile.map((t, d) => Math.min(t, Math.max(shape[d]!, 1)))));
}

/** Zero-pads: `before[d]` zeros in front of dim d and `after[d]` behind. */
export function pad(x: Tensor, before: readonly number[], after: readonly number[]): Tensor {
  const shape = x.shape.map((n, d) => n + before[d]! + after[d]!);
  return new Tensor(tra.retile(x.node, before.map((b) => -b), shape, x.tile));
}

export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const [d] = normAxes(xs[0]!, axis, 'concat');
  const first = xs[0]!;
  xs.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((n, k) => k !== d && n !== first.shape[k])) {
      throw new ShapeError(`concat: tensor ${i} has shape [${t.shape}], tensor 0 has [${first.shape}] (they may differ only in axis ${d})`, { operand: i });
    }
    if (t.dtype !== first.dtype) throw new ShapeError(`concat: tensor ${i} is ${t.dtype}, tensor 0 is ${first.dtype}`, { operand: i });
  });
  const tile = first.tile.map((_, k) => Math.max(...xs.map((t) => t.tile[k]!)));
  const nodes = xs.map((t) => retileTo(t.node, tile));
  const aligned = xs.slice(0, -1).every((t) => t.shape[d!]! % tile[d!]! === 0);
  if (aligned) return new Tensor(tra.concat(nodes, d!));
  const total = xs.reduce((s, t) => s + t.shape[d!]!, 0);
  const shape = first.shape.map((n, k) => (k === d ? total : n));
  let off = 0;
  const padded = nodes.map((n, i) => {
    const w = tra.retile(n, shape.map((_, k) => (k === d ? -off : 0)), shape, tile);
    off += xs[i]!.shape[d!]!;
    return w;
  });
  return new Tensor(tra.aggregate(padded, shape.map((_, k) => k), 'sum'));
}

export function reshape(x: Tensor, shape: readonly number[], opts: { tile?: readonly number[] } = {}): Tensor {
  const known = shape.filter((n) => n !== -1);
  const infer = shape.filter((n) => n === -1).length;
  if (infer > 1 || known.some((n) => !Number.isInteger(n) || n < 0)) throw new ShapeError(`reshape: bad target shape [${shape}]`);
  const full = shape.map((n) => (n === -1 ? sizeOf(x.shape) / Math.max(1, sizeOf(known)) : n));
  if (sizeOf(full) !== sizeOf(x.shape) || !full.every(Number.isInteger)) throw new ShapeError(`reshape: cannot reshape [${x.shape}] (${sizeOf(x.shape)} elements) to [${shape}]`);
  const whole = retileTo(x.node, x.shape);
  const mapped = tra.map(whole, { name: 'reshape', attrs: { shape: full } });
  const node = tra.rekey(mapped, full.map(() => null));
  const out = new Tensor(node);
  return opts.tile ? retile(out, opts.tile) : out;
}
