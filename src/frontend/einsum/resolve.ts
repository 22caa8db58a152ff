/**
 * Binds a parsed einsum to operand shapes: expands each '...' into fresh letters (right-aligned, as
 * broadcasting does), checks ranks, and settles every letter's size (equal, or 1 to broadcast).
 */
import { EinsumShapeError } from '../../errors.js';
import { ELLIPSIS, implicitOutput, parseEinsum } from './parse.js';

export interface ResolvedEinsum {
  spec: string;
  /** Each operand's letters, one per dimension. */
  inputs: string[][];
  output: string[];
  /** The broadcast size of every letter. */
  sizes: Map<string, number>;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function resolveEinsum(spec: string, shapes: readonly (readonly number[])[]): ResolvedEinsum {
  const p = parseEinsum(spec);
  if (p.inputs.length !== shapes.length) throw new EinsumShapeError(spec, `has ${p.inputs.length} operand(s), got ${shapes.length} tensor(s)`, { operands: shapes.length });
  const used = new Set(p.inputs.flat().concat(p.output ?? []));
  // Ellipsis ranks per operand, and fresh letters for the widest one.
  let eRank = 0;
  const eRanks = p.inputs.map((t, i) => {
    const named = t.filter((c) => c !== ELLIPSIS).length, rank = shapes[i]!.length;
    if (t.includes(ELLIPSIS) ? rank < named : rank !== named) {
      throw new EinsumShapeError(spec, `operand ${i} has rank ${rank} but subscripts '${t.join('')}' need ${t.includes(ELLIPSIS) ? `at least ${named}` : named}`, { operand: i, rank });
    }
    const e = t.includes(ELLIPSIS) ? rank - named : 0;
    eRank = Math.max(eRank, e);
    return e;
  });
  const fresh = [...LETTERS].filter((c) => !used.has(c)).slice(0, eRank);
  if (fresh.length < eRank) throw new EinsumShapeError(spec, `'...' covers ${eRank} dims but only ${fresh.length} letters are free`, {});
  const expand = (t: string[], e: number) => t.flatMap((c) => (c === ELLIPSIS ? fresh.slice(eRank - e) : [c]));
  const inputs = p.inputs.map((t, i) => expand(t, eRanks[i]!));
  const output = expand(p.output ?? implicitOutput(p), eRank);
  const sizes = new Map<string, number>();
  const where = new Map<string, string>();
  inputs.forEach((letters, i) => letters.forEach((c, d) => {
    const n = shapes[i]![d]!, prev = sizes.get(c), first = letters.indexOf(c);
    if (first !== d && shapes[i]![first] !== n) {
      throw new EinsumShapeError(spec, `index '${c}' repeats in operand ${i} with sizes ${shapes[i]![first]} and ${n}; a diagonal needs equal sizes`, { letter: c, operand: i, sizes: [shapes[i]![first], n] });
    }
    if (prev === undefined || prev === 1) { sizes.set(c, n); where.set(c, `operand ${i} dim ${d}`); return; }
    if (n !== prev && n !== 1) {
      const name = fresh.includes(c) ? `'...' dim` : `index '${c}'`;
      throw new EinsumShapeError(spec, `${name} is ${prev} in ${where.get(c)} but ${n} in operand ${i} dim ${d}`, { letter: c, operand: i, sizes: [prev, n] });
    }
  }));
  return { spec, inputs, output, sizes };
}
