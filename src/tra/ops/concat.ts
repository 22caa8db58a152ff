/**
 * concat(R1..Rn; axis): the union of dense tensor relations laid end to end along `axis`, by shifting
 * each input's keys. It needs tile boundaries to line up: equal tiles, and every input but the last
 * must fill its last tile along the axis (the front end re-tiles when they do not).
 */
import { PlanError } from '../../errors.js';
import { denseSchema, denseShape, requireDense, tileSizes, type Schema } from '../schema.js';
import type { OpDef } from './types.js';

/** Key offsets (in tiles) of each input along the axis. */
export function concatOffsets(inputs: readonly Schema[], axis: number): number[] {
  const offs: number[] = [];
  let acc = 0;
  for (const s of inputs) { offs.push(acc); acc += s.keys[axis]!; }
  return offs;
}

export const concat: OpDef = {
  arity: -1,
  infer: (inputs, attrs) => {
    if (inputs.length < 1) throw new PlanError('concat: needs at least one input');
    const axis = attrs.axis as number, first = inputs[0]!;
    inputs.forEach((s, i) => requireDense(s, `concat input ${i}`));
    const r = first.keys.length;
    if (!Number.isInteger(axis) || axis < 0 || axis >= r) throw new PlanError(`concat: axis ${String(axis)} is outside rank ${r}`);
    // A tensor smaller than a tile has one short tile; the common tiling is the widest one.
    const tile = tileSizes(first).map((_, d) => Math.max(...inputs.map((s) => tileSizes(s)[d]!))), shape = denseShape(first);
    let total = 0;
    inputs.forEach((s, i) => {
      const sh = denseShape(s), ts = tileSizes(s);
      if (s.dtype !== first.dtype || sh.length !== r) throw new PlanError(`concat: input ${i} has rank ${sh.length} ${s.dtype}, input 0 has rank ${r} ${first.dtype}`);
      sh.forEach((n, d) => {
        if (d !== axis && n !== shape[d]) throw new PlanError(`concat: input ${i} has size ${n} in dimension ${d}, input 0 has ${shape[d]}`);
        if (ts[d] !== tile[d] && !(s.keys[d] === 1 && sh[d]! <= tile[d]!)) throw new PlanError(`concat: input ${i} is tiled [${ts}], input 0 [${tile}]`);
      });
      if (i < inputs.length - 1 && sh[axis]! % tile[axis]! !== 0) throw new PlanError(`concat: input ${i} has size ${sh[axis]} along axis ${axis}, not a multiple of the tile ${tile[axis]}`);
      total += sh[axis]!;
    });
    return denseSchema(shape.map((n, d) => (d === axis ? total : n)), tile, first.dtype);
  },
  describe: (attrs) => `axis ${String(attrs.axis)}`,
};
