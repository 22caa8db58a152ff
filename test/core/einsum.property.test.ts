/**
 * Property suite: random einsum specs (explicit/implicit output, ellipsis, repeated indices, size-1
 * broadcasting, 1-4 operands), random shapes and random tilings; the relational result must equal the
 * brute-force float64 reference, and a plan serialised to JSON and read back must give the same result.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { einsum, Plan, runSync, tensor, toPlan } from '../../src/index.js';
import { denseEinsum, maxRelErr, randomData, randomTiling, rng, size, type DenseCase } from '../helpers/dense.js';

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

export let einsumCasesRun = 0;

test('random einsums on random tilings equal the float64 reference (and survive a JSON round trip)', () => {
  fc.assert(fc.property(einsumCaseArb, (c) => {
    const r = rng(c.seed ^ 0x9e3779b9);
    const data = c.shapes.map((s) => randomData(size(s), r));
    const ts = c.shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: randomTiling(s, r) }));
    const out = einsum(c.spec, ...ts);
    const want = denseEinsum(c, data);
    assert.deepEqual(out.shape, c.output.map((l) => Math.max(...c.letters.flatMap((ls, i) => ls.map((x, d) => (x === l ? c.shapes[i]![d]! : 1))))), `shape of ${c.spec}`);
    const got = out.dataSync();
    assert.ok(maxRelErr(got, want) < 1e-12, `${c.spec} shapes ${JSON.stringify(c.shapes)}: max rel err ${maxRelErr(got, want)}`);
    const again = Plan.fromJSON(JSON.parse(JSON.stringify(toPlan(out).toJSON())));
    assert.ok(maxRelErr(runSync(again, {})[0]!.toDense().data, want) < 1e-12, `${c.spec}: round-tripped plan differs`);
    einsumCasesRun++;
  }), { numRuns: 1500, seed: 20261129 });
  console.log(`einsum property cases run: ${einsumCasesRun}`);
});
