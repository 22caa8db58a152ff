/** Fuzz: 10,000+ random strings into the einsum parser; each parses or raises EinsumSyntaxError, never anything else. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EinsumSyntaxError, parseEinsum } from '../../src/index.js';
import { rng } from '../helpers/dense.js';

const ALPHABET = ['a', 'b', 'i', 'j', 'Z', ',', '-', '>', '->', '.', '...', ' ', '1', '*', '(', 'é', '\n', '\0'];

test('einsum parser fuzz: every random string parses or raises the typed error', () => {
  const r = rng(42);
  let parsed = 0, rejected = 0;
  for (let n = 0; n < 12000; n++) {
    const len = Math.floor(r() * 14);
    let s = '';
    for (let k = 0; k < len; k++) s += ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    try {
      const p = parseEinsum(s);
      assert.ok(Array.isArray(p.inputs) && p.inputs.length >= 1);
      for (const t of p.inputs) for (const c of t) assert.ok(/^([a-zA-Z]|\.\.\.)$/.test(c), `bad subscript ${c} from ${JSON.stringify(s)}`);
      parsed++;
    } catch (e) {
      if (!(e instanceof EinsumSyntaxError)) throw new Error(`spec ${JSON.stringify(s)} threw ${String(e)}`);
      assert.ok(e.position >= 0 && e.position <= s.length, `position ${e.position} outside ${JSON.stringify(s)}`);
      rejected++;
    }
  }
  console.log(`einsum fuzz: ${parsed + rejected} strings, ${parsed} parsed, ${rejected} rejected with EinsumSyntaxError`);
  assert.ok(parsed > 500 && rejected > 500, 'the fuzz alphabet should exercise both outcomes');
});

test('parser accepts the numpy grammar', () => {
  assert.deepEqual(parseEinsum('ij,jk->ik'), { inputs: [['i', 'j'], ['j', 'k']], output: ['i', 'k'] });
  assert.deepEqual(parseEinsum('...ij, ...jk'), { inputs: [['...', 'i', 'j'], ['...', 'j', 'k']], output: null });
  assert.deepEqual(parseEinsum('ii->'), { inputs: [['i', 'i']], output: [] });
});

test('malformed specs name the position and the problem', () => {
  const cases: [string, number, RegExp][] = [
    ['ij,jk->ik->i', 9, /more than one '->'/],
    ['i.j', 1, /'\.' must be part of '\.\.\.'/],
    ['...i...', 4, /more than one '\.\.\.'/],
    ['ij->k', 4, /'k' does not appear/],
    ['ij->ii', 5, /appears more than once/],
    ['i2', 1, /unexpected character "2"/],
    ['ij-k', 2, /stray "-"/],
  ];
  for (const [spec, pos, msg] of cases) {
    assert.throws(() => parseEinsum(spec), (e: unknown) => e instanceof EinsumSyntaxError && e.position === pos && msg.test(e.message), spec);
  }
});
