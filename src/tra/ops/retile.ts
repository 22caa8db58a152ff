/**
 * retile(R; start, shape, tile): re-tiles a dense tensor relation, optionally through a window:
 * out[i] = in[i + start] inside the input, 0 outside. Plain re-tiling is start 0 and the same shape;
 * slicing is a window inside; zero-padding is a window outside. Its gradient is the inverse window.
 */
import { PlanError } from '../../errors.js';
import { denseSchema, requireDense } from '../schema.js';
import { ints } from './check.js';
import { forEachKey } from '../relation.js';
import type { OpDef } from './types.js';

export const retile: OpDef = {
  arity: 1,
  infer: ([R], attrs) => {
    requireDense(R!, 'retile');
    const start = ints('retile', attrs, 'start'), shape = ints('retile', attrs, 'shape'), tile = ints('retile', attrs, 'tile');
    const r = R!.keys.length;
    if (start.length !== r || shape.length !== r || tile.length !== r) throw new PlanError(`retile: start, shape and tile must each have ${r} entries (the tensor's rank)`);
    if (shape.some((n) => n < 0) || tile.some((t) => t < 1)) throw new PlanError(`retile: shape [${shape}] must be non-negative and tile [${tile}] positive`);
    return denseSchema(shape, tile, R!.dtype);
  },
  describe: (attrs) => `start [${String(attrs.start)}] shape [${String(attrs.shape)}] tile [${String(attrs.tile)}]`,
};


/**
 * Where an input tile lands: its box [lo, hi) in output coordinates (clipped to the output) and the keys
 * of the output tiles it overlaps; null when it falls outside the window. Shared by every executor and
 * by the optimizer's key analysis so they agree on which tiles exist.
 */
export function retileTargets(key: readonly number[], shape: readonly number[], inTile: readonly number[], start: readonly number[],
  outTile: readonly number[], outShape: readonly number[]): { lo: number[]; hi: number[]; keys: number[][] } | null {
  const lo = key.map((k, d) => Math.max(0, k * inTile[d]! - start[d]!));
  const hi = key.map((k, d) => Math.min(outShape[d]!, k * inTile[d]! + shape[d]! - start[d]!));
  if (lo.some((l, d) => l >= hi[d]!)) return null;
  const kLo = lo.map((l, d) => Math.floor(l / outTile[d]!)), kHi = hi.map((h, d) => Math.floor((h - 1) / outTile[d]!));
  const keys: number[][] = [];
  forEachKey(kLo.map((l, d) => kHi[d]! - l + 1), (off) => keys.push(off.map((o, d) => o + kLo[d]!)));
  return { lo, hi, keys };
}
