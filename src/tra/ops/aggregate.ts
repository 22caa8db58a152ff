/**
 * aggregate(R1..Rn; groupBy, fn): groups the tuples of all inputs (a bag union, like SQL's UNION ALL then
 * GROUP BY) by the key positions in groupBy, which become the output key in that order, and combines
 * each group's tiles elementwise with sum, max or min. Several inputs of one schema is how gradients
 * from several consumers are summed, sparse ones included.
 */
import { PlanError } from '../../errors.js';
import { schemaEquivalent, schemaString } from '../schema.js';
import { ints, position } from './check.js';
import type { OpDef } from './types.js';

export const AGG_FNS = ['sum', 'max', 'min'] as const;
export type AggFn = (typeof AGG_FNS)[number];

export const aggregate: OpDef = {
  arity: -1,
  infer: (inputs, attrs) => {
    const R = inputs[0];
    if (!R) throw new PlanError('aggregate: needs at least one input');
    inputs.forEach((s, i) => { if (!schemaEquivalent(s, R)) throw new PlanError(`aggregate: input ${i} has schema ${schemaString(s)}, input 0 has ${schemaString(R)}`); });
    const groupBy = ints('aggregate', attrs, 'groupBy');
    if (!AGG_FNS.includes(attrs.fn as AggFn)) throw new PlanError(`aggregate: fn must be one of ${AGG_FNS.join(', ')}, got ${JSON.stringify(attrs.fn)}`);
    groupBy.forEach((p) => position('aggregate', 'group-by position', p, R!.keys.length));
    if (new Set(groupBy).size !== groupBy.length) throw new PlanError(`aggregate: group-by positions [${groupBy}] repeat`);
    const tile = R!.tile.map((t, d) => {
      if (t.key === null) return t;
      const at = groupBy.indexOf(t.key);
      if (at >= 0) return { ...t, key: at };
      if (R!.keys[t.key] === 1) return { size: t.extent, key: null, extent: t.extent };
      throw new PlanError(`aggregate: tile dim ${d} is tiled by key dim ${t.key}, which the aggregation drops; tiles of different parts of a dimension cannot be combined`);
    });
    return { keys: groupBy.map((p) => R!.keys[p]!), tile, dtype: R!.dtype };
  },
  describe: (attrs) => `${String(attrs.fn)} group by [${String(attrs.groupBy)}]`,
};
