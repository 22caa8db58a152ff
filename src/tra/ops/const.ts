/** A literal relation carried in the plan. */
import { PlanError } from '../../errors.js';
import { Relation } from '../relation.js';
import type { OpDef } from './types.js';

export const constant: OpDef = {
  arity: 0,
  infer: (_in, attrs) => {
    if (!(attrs.value instanceof Relation)) throw new PlanError('const: attribute value must be a Relation');
    return attrs.value.schema;
  },
  describe: (attrs) => `${(attrs.value as Relation).size} tuple(s)`,
};
