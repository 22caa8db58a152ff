/** Random einsum cases (spec, shapes, expanded letters) for the property suites of every executor. */
import fc from 'fast-check';
import { rng, type DenseCase } from './dense.js';

export interface EinsumCase extends DenseCase { spec: string; seed: number }

const POOL = 'abcdefg';

/** Builds a random case: the expanded letters for the reference, and a spec string that may use '...'. */
export const einsumCaseArb = fc.record({
  nOps: fc.integer({ min: 1, max: 4 }),
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
}).map(({ nOps, seed }): EinsumCase => {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const letterSize = new Map([...POOL].map((l) => [l, 1 + Math.floor(r() * 4)]));
  const batch = ['X', 'Y'].slice(0, Math.floor(r() * 3)); // ellipsis letters
  batch.forEach((l) => letterSize.set(l, 1 + Math.floor(r() * 3)));
  const useEllipsis = batch.length > 0 && r() < 0.7;
  const letters: string[][] = [], shapes: number[][] = [], rendered: string[] = [];
  for (let i = 0; i < nOps; i++) {
    const rank = Math.floor(r() * (nOps > 2 ? 3 : 4));
    const own = Array.from({ length: rank }, () => pick([...POOL]));
    // Ellipsis operands take a (right-aligned) suffix of the batch letters.
    const bl = useEllipsis && r() < 0.8 ? batch.slice(Math.floor(r() * (batch.length + 1))) : [];
    const ls = [...bl, ...own];
    letters.push(ls);
    shapes.push(ls.map((l) => (r() < 0.12 ? 1 : letterSize.get(l)!)));
    rendered.push((useEllipsis && (bl.length > 0 || r() < 0.5) ? '...' : '') + own.join(''));
  }
  // Repeated letters must agree in size within an operand (or be 1 for broadcasting): use the letter size.
  letters.forEach((ls, i) => ls.forEach((l, d) => { if (ls.indexOf(l) !== d) { shapes[i]![d] = letterSize.get(l)!; shapes[i]![ls.indexOf(l)] = letterSize.get(l)!; } }));
  const counts = new Map<string, number>();
  letters.forEach((ls, i) => ls.forEach((l) => { if (!rendered[i]!.startsWith('...') || !batch.includes(l)) counts.set(l, (counts.get(l) ?? 0) + 1); }));
  const used = [...new Set(letters.flat())];
  const explicit = r() < 0.7;
  let output: string[];
  let spec: string;
  // The ellipsis in the output stands for the widest operand ellipsis (right-aligned).
  const eOut = useEllipsis ? batch.slice(batch.length - Math.max(0, ...letters.map((ls, i) => (rendered[i]!.startsWith('...') ? ls.filter((l) => batch.includes(l)).length : 0)))) : [];
  if (explicit) {
    const named = used.filter((l) => !batch.includes(l) || !useEllipsis).filter(() => r() < 0.6);
    const shuffled = named.sort(() => r() - 0.5);
    const withE = useEllipsis && eOut.length > 0 && r() < 0.8;
    output = [...(withE ? eOut : []), ...shuffled];
    spec = `${rendered.join(',')}->${withE ? '...' : ''}${shuffled.join('')}`;
  } else {
    const once = [...counts].filter(([l, n]) => n === 1 && !(useEllipsis && batch.includes(l))).map(([l]) => l).sort();
    output = [...(useEllipsis ? eOut : []), ...once];
    spec = rendered.join(',');
  }
  // Only keep letters that some operand actually has (the generator may leave batch letters unused).
  return { spec, letters, shapes, output, seed };
}).filter((c) => {
  // Ellipsis letters used without '...' in an operand would not be expressible; the generator avoids that by construction.
  const sizes = new Map<string, number>();
  return c.letters.every((ls, i) => ls.every((l, d) => {
    const n = c.shapes[i]![d]!, prev = sizes.get(l);
    if (prev !== undefined && prev !== n && prev !== 1 && n !== 1) return false;
    if (prev === undefined || prev === 1) sizes.set(l, n);
    return true;
  }));
});

