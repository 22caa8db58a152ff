/** Attribute checks for operators: each failure is a PlanError naming the operator and attribute. */
import { PlanError } from '../../errors.js';
import type { Attrs } from './types.js';

export function ints(op: string, attrs: Attrs, key: string): number[] {
  const v = attrs[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new PlanError(`${op}: attribute '${key}' must be an array of integers, got ${JSON.stringify(v)}`);
  return v as number[];
}

export function position(op: string, what: string, p: number, arity: number): void {
  if (!Number.isInteger(p) || p < 0 || p >= arity) throw new PlanError(`${op}: ${what} ${p} is outside the ${arity} key dimensions`);
}
