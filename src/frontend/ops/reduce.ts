/**
 * Reductions and the normalisations built on them. A reduction is a tile kernel then an aggregation over
 * the reduced key dims. softmax/logsumexp use one fused tile kernel when the axis lies in a single tile,
 * and otherwise the relational composition (max, shift, exp, sum), whose gradient comes from the parts.
 */
import { ShapeError } from '../../errors.js';
import * as tra from '../../tra/build.js';
import { reduceTo, squeeze } from '../../tra/lettered.js';
import { Tensor } from '../tensor.js';
import { add, div, exp, log, stopGradient, sub } from './elementwise.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function normAxes(x: Tensor, axes: number | readonly number[] | undefined, what: string): number[] {
  const list = axes === undefined ? x.shape.map((_, d) => d) : typeof axes === 'number' ? [axes] : [...axes];
  return list.map((a) => {
    const d = a < 0 ? a + x.rank : a;
    if (!Number.isInteger(d) || d < 0 || d >= x.rank) throw new ShapeError(`${what}: axis ${a} is out of range for rank ${x.rank}`, { axis: a, rank: x.rank });
    return d;
  });
}

/** Inserts size-1 dims at the (sorted) positions `axes` of the result. */
export function expandDims(x: Tensor, axes: readonly number[]): Tensor {
  let node = x.node;
  for (const axis of [...axes].sort((p, q) => p - q)) {
    const mapped = tra.map(node, { name: 'expandDims', attrs: { axis } });
    const r = node.schema.keys.length;
    const keys: (number | null)[] = Array.from({ length: r }, (_, i) => i);
    keys.splice(axis, 0, null);
    node = tra.rekey(mapped, keys);
  }
  return new Tensor(node);
}

function reduce(x: Tensor, fn: 'sum' | 'max' | 'min', axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const ax = normAxes(x, axes, fn);
  const letters = x.shape.map((_, d) => LETTERS[d]!);
  const kept = letters.filter((_, d) => !ax.includes(d));
  const out = new Tensor(reduceTo({ node: x.node, letters }, kept, fn).node);
  return keepDims ? expandDims(out, ax) : out;
}

export const sum = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce(x, 'sum', axes, keepDims);
export const max = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce(x, 'max', axes, keepDims);
export const min = (x: Tensor, axes?: number | readonly number[], keepDims = false) => reduce(x, 'min', axes, keepDims);
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const n = normAxes(x, axes, 'mean').reduce((p, d) => p * x.shape[d]!, 1);
  return div(sum(x, axes, keepDims), n);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const [d] = normAxes(x, axis, 'softmax');
  if (x.node.schema.keys[d!] === 1) return new Tensor(tra.map(x.node, { name: 'softmax', attrs: { axis: d } }));
  const e = exp(sub(x, stopGradient(max(x, d, true))));
  return div(e, sum(e, d, true));
}

export function logsumexp(x: Tensor, axis = -1, keepDims = false): Tensor {
  const [d] = normAxes(x, axis, 'logsumexp');
  if (x.node.schema.keys[d!] === 1) {
    // The kernel drops the axis from the tile; the rekey drops its (bound-1) key dim.
    const lse = tra.map(x.node, { name: 'logsumexp', attrs: { axis: d } });
    const out = new Tensor(tra.rekey(lse, x.shape.map((_, i) => i).filter((i) => i !== d)));
    return keepDims ? expandDims(out, [d!]) : out;
  }
  const m = stopGradient(max(x, d, true));
  const lse = add(log(sum(exp(sub(x, m)), d, true)), m);
  return keepDims ? lse : new Tensor(squeeze({ node: lse.node, letters: x.shape.map((_, i) => LETTERS[i]!) }, [d!]).node);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return sub(x, logsumexp(x, axis, true));
}
