/**
 * rekey(R; keys): output key dim i is input key dim keys[i], or a new dim of bound 1 where keys[i] is
 * null. It is a bijection on keys: each input dim is used at most once, and one left out must have bound 1.
 */
import { PlanError } from '../../errors.js';
import type { OpDef } from './types.js';

export function checkRekey(op: string, bounds: readonly number[], keys: unknown): (number | null)[] {
  if (!Array.isArray(keys) || !keys.every((k) => k === null || Number.isInteger(k))) throw new PlanError(`${op}: attribute 'keys' must list input key positions or null, got ${JSON.stringify(keys)}`);
  const used = new Set<number>();
  for (const k of keys as (number | null)[]) {
    if (k === null) continue;
    if (k < 0 || k >= bounds.length) throw new PlanError(`${op}: key position ${k} is outside the ${bounds.length} key dimensions`);
    if (used.has(k)) throw new PlanError(`${op}: key position ${k} is used twice`);
    used.add(k);
  }
  bounds.forEach((b, i) => { if (!used.has(i) && b !== 1) throw new PlanError(`${op}: drops key dim ${i} of bound ${b}; only bound-1 dims can be dropped (use aggregate to combine)`); });
  return keys as (number | null)[];
}

export const rekey: OpDef = {
  arity: 1,
  infer: ([R], attrs) => {
    const keys = checkRekey('rekey', R!.keys, attrs.keys);
    const tile = R!.tile.map((t) => {
      if (t.key === null) return t;
      const at = keys.indexOf(t.key);
      return at >= 0 ? { ...t, key: at } : { size: t.extent, key: null, extent: t.extent };
    });
    return { keys: keys.map((k) => (k === null ? 1 : R!.keys[k]!)), tile, dtype: R!.dtype };
  },
  describe: (attrs) => `[${(attrs.keys as (number | null)[]).map((k) => (k === null ? '_' : k)).join(',')}]`,
};
