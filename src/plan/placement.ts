/**
 * Placements: how a relation's tuples are spread over S sites. `partitioned` sends a tuple to
 * site (sum_i key[dims[i]] * 31^i) mod S — round-robin over one dim, so dense relations split evenly and
 * the site of a tuple is a function of key values alone (it survives rekeys that move the dim).
 */
import { PlanError } from '../errors.js';

export type Placement =
  | { readonly kind: 'replicated' }
  /** Spread with no key rule: partial aggregates, where a group may sit on several sites until combined. */
  | { readonly kind: 'scattered' }
  | { readonly kind: 'single' }
  | { readonly kind: 'partitioned'; readonly dims: readonly number[] };

export const REPLICATED: Placement = { kind: 'replicated' };
export const SINGLE: Placement = { kind: 'single' };
export const partitioned = (...dims: number[]): Placement => ({ kind: 'partitioned', dims });

/** The site holding `key` (replicated: every site; returns -1). Single relations live on site 0. */
export function siteOf(key: readonly number[], p: Placement, sites: number): number {
  if (p.kind === 'replicated') return -1;
  if (p.kind === 'scattered') throw new PlanError('a scattered relation has no key-to-site rule');
  if (p.kind === 'single' || sites === 1) return 0;
  let h = 0, m = 1;
  for (const d of p.dims) { h += key[d]! * m; m *= 31; }
  return h % sites;
}

export function placementString(p: Placement): string {
  return p.kind === 'partitioned' ? `part(${p.dims.join(',')})` : p.kind === 'replicated' ? 'repl' : p.kind;
}
