/**
 * The user-facing einsum grammar, as in numpy and PyTorch: operands separated by commas, optional
 * explicit output after "->", letters a-z A-Z, at most one "..." per operand, spaces ignored. Implicit
 * output: the letters that occur exactly once, sorted (uppercase first), after the ellipsis dims.
 * Any other input raises EinsumSyntaxError with the character position.
 */
import { EinsumSyntaxError } from '../../errors.js';

export const ELLIPSIS = '...';
/** One operand's subscripts: letters, and '...' where the ellipsis stands. */
export type Subscripts = string[];
export interface ParsedEinsum { inputs: Subscripts[]; output: Subscripts | null }

const isLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

function parseTerm(spec: string, from: number, to: number, what: string): Subscripts {
  const out: Subscripts = [];
  let i = from;
  while (i < to) {
    const c = spec[i]!;
    if (c === ' ') { i++; continue; }
    if (isLetter(c)) { out.push(c); i++; continue; }
    if (c === '.') {
      if (spec.slice(i, i + 3) !== ELLIPSIS || i + 3 > to) throw new EinsumSyntaxError(spec, i, `'.' must be part of '...' in ${what}`);
      if (out.includes(ELLIPSIS)) throw new EinsumSyntaxError(spec, i, `${what} has more than one '...'`);
      out.push(ELLIPSIS); i += 3; continue;
    }
    throw new EinsumSyntaxError(spec, i, `unexpected character ${JSON.stringify(c)} in ${what}; subscripts are letters a-z, A-Z and '...'`);
  }
  return out;
}

export function parseEinsum(spec: string): ParsedEinsum {
  if (typeof spec !== 'string') throw new EinsumSyntaxError(String(spec), 0, 'the spec must be a string');
  const arrow = spec.indexOf('->');
  if (arrow >= 0 && spec.indexOf('->', arrow + 2) >= 0) throw new EinsumSyntaxError(spec, spec.indexOf('->', arrow + 2), "more than one '->'");
  const lhsEnd = arrow >= 0 ? arrow : spec.length;
  for (let i = 0; i < spec.length; i++) {
    if ((spec[i] === '-' || spec[i] === '>') && !(arrow >= 0 && (i === arrow || i === arrow + 1))) throw new EinsumSyntaxError(spec, i, `stray ${JSON.stringify(spec[i])}; the output arrow is '->'`);
  }
  const inputs: Subscripts[] = [];
  let start = 0;
  for (let i = 0; i <= lhsEnd; i++) {
    if (i === lhsEnd || spec[i] === ',') {
      inputs.push(parseTerm(spec, start, i, `operand ${inputs.length}`));
      start = i + 1;
    }
  }
  if (arrow < 0) return { inputs, output: null };
  const output = parseTerm(spec, arrow + 2, spec.length, 'the output');
  const seen = new Set<string>();
  let cursor = arrow + 2;
  output.forEach((c) => {
    const at = spec.indexOf(c === ELLIPSIS ? '.' : c, cursor);
    cursor = at + c.length;
    if (seen.has(c)) throw new EinsumSyntaxError(spec, at, `output subscript '${c}' appears more than once`);
    seen.add(c);
    if (c === ELLIPSIS ? !inputs.some((t) => t.includes(ELLIPSIS)) : !inputs.some((t) => t.includes(c))) {
      throw new EinsumSyntaxError(spec, at, `output subscript '${c}' does not appear in any operand`);
    }
  });
  return { inputs, output };
}

/** The implicit output of a parsed spec (numpy's rule). */
export function implicitOutput(p: ParsedEinsum): Subscripts {
  const counts = new Map<string, number>();
  for (const t of p.inputs) for (const c of t) if (c !== ELLIPSIS) counts.set(c, (counts.get(c) ?? 0) + 1);
  const once = [...counts].filter(([, n]) => n === 1).map(([c]) => c).sort();
  return p.inputs.some((t) => t.includes(ELLIPSIS)) ? [ELLIPSIS, ...once] : once;
}
