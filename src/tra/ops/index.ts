/** The operator table: one definition per TRA operator. Other tables (executors, autodiff) key on these names. */
import { aggregate } from './aggregate.js';
import { concat } from './concat.js';
import { constant } from './const.js';
import { filter } from './filter.js';
import { input } from './input.js';
import { join } from './join.js';
import { map } from './map.js';
import { rekey } from './rekey.js';
import { retile } from './retile.js';
import type { OpDef } from './types.js';

export const OPS = { input, const: constant, join, aggregate, map, rekey, filter, retile, concat } satisfies Record<string, OpDef>;
export type OpName = keyof typeof OPS;
export const OP_NAMES = Object.keys(OPS) as OpName[];
