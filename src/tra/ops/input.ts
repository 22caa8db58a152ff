/** A named input relation bound at run time. */
import { PlanError } from '../../errors.js';
import type { Schema } from '../schema.js';
import type { OpDef } from './types.js';

export const input: OpDef = {
  arity: 0,
  infer: (_in, attrs) => {
    if (typeof attrs.name !== 'string' || attrs.name === '') throw new PlanError(`input: needs a non-empty name, got ${JSON.stringify(attrs.name)}`);
    return attrs.schema as Schema;
  },
  describe: (attrs) => `'${String(attrs.name)}'`,
};
