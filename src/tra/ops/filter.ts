/**
 * filter(R; predicate): keeps tuples whose key satisfies a conjunction of comparisons, each between a key
 * dim and a constant or between two key dims. Plain data, so plans stay serialisable.
 */
import { PlanError } from '../../errors.js';
import type { OpDef } from './types.js';

export const CMPS = ['==', '!=', '<', '<=', '>', '>='] as const;
export type Cmp = (typeof CMPS)[number];
export interface KeyAtom { readonly dim: number; readonly cmp: Cmp; readonly value?: number; readonly dim2?: number }

export function checkPredicate(bounds: readonly number[], pred: unknown): KeyAtom[] {
  if (!Array.isArray(pred)) throw new PlanError(`filter: predicate must be a list of {dim, cmp, value|dim2}, got ${JSON.stringify(pred)}`);
  for (const a of pred as KeyAtom[]) {
    const ok = a && Number.isInteger(a.dim) && a.dim >= 0 && a.dim < bounds.length && CMPS.includes(a.cmp) &&
      ((Number.isInteger(a.value) && a.dim2 === undefined) || (a.value === undefined && Number.isInteger(a.dim2) && a.dim2! >= 0 && a.dim2! < bounds.length));
    if (!ok) throw new PlanError(`filter: bad predicate atom ${JSON.stringify(a)} for ${bounds.length} key dimensions`);
  }
  return pred as KeyAtom[];
}

export function evalPredicate(pred: readonly KeyAtom[], key: readonly number[]): boolean {
  for (const a of pred) {
    const x = key[a.dim]!, y = a.dim2 === undefined ? a.value! : key[a.dim2]!;
    const ok = a.cmp === '==' ? x === y : a.cmp === '!=' ? x !== y : a.cmp === '<' ? x < y : a.cmp === '<=' ? x <= y : a.cmp === '>' ? x > y : x >= y;
    if (!ok) return false;
  }
  return true;
}

export const filter: OpDef = {
  arity: 1,
  infer: ([R], attrs) => { checkPredicate(R!.keys, attrs.predicate); return R!; },
  describe: (attrs) => (attrs.predicate as KeyAtom[]).map((a) => `k${a.dim} ${a.cmp} ${a.dim2 === undefined ? a.value : `k${a.dim2}`}`).join(' && ') || 'true',
};
