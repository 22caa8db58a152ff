/** explain(plan) prints the logical (TRA) plan; explain(plan, { sites }) adds the optimizer's physical (IA) plan with its predicted costs. */
import { explainPlan } from '../tra/explain.js';
import type { Plan } from '../tra/plan.js';
import { explainIA } from './ia.js';
import { optimize, type OptimizeOptions } from './optimizer.js';

export function explain(plan: Plan, opts?: OptimizeOptions): string {
  const logical = explainPlan(plan);
  if (!opts) return logical;
  return `logical plan:\n${logical}\n\nphysical plan:\n${explainIA(optimize(plan, opts))}`;
}
