/**
 * Backend conformance: every kernel case below runs on every registered backend other than 'reference' and
 * is compared with the reference backend (the definition of each kernel), element by element, with
 * tolerances for float32 arithmetic (float64 cases are held much tighter). Shapes and data are random from
 * a seed (RELML_SEED overrides it; the seed is in every failure message). The 'ort' backend is skipped
 * only when onnxruntime-node cannot load here, and then with the reason.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../src/errors.js';
import { BINARY_FNS, UNARY_FNS, type BinaryFn, type UnaryFn } from '../../src/kernels/fns.js';
import { ORT, ORT_STATUS, ortStats, setOrtSmallWork } from '../../src/kernels/ort/index.js';
import { lowerCall } from '../../src/kernels/ort/lower.js';
import { OrtSession } from '../../src/kernels/ort/session.js';
import { REFERENCE } from '../../src/kernels/reference/index.js';
import { applyKernel, backendNames, hasKernelImpl, type KernelCall } from '../../src/kernels/registry.js';
import { makeTile, type DType, type Tile } from '../../src/tile.js';
// A seeded PRNG (the library's mulberry32), so any failure can be replayed.
import { rng } from '../helpers/dense.js';

// Every call must reach ORT here, however small (production routes tiny calls to the reference kernels).
setOrtSmallWork(0);

const SEED = Number(process.env.RELML_SEED ?? 20240611);


interface Case {
  label: string;
  call: KernelCall;
  tiles: Tile[];
  dtype: DType;
  /** Terms summed into one output element (einsum contraction length, reduction size): scales atol. */
  terms: number;
}

type Gen = (r: () => number) => number;
const dim = (lo: number, hi: number): Gen => (r) => lo + Math.floor(r() * (hi - lo + 1));

function tile(r: () => number, shape: number[], dtype: DType, kind: 'signed' | 'positive' | 'small-int' = 'signed'): Tile {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = Array.from({ length: n }, () => (kind === 'positive' ? 0.1 + 2 * r() : kind === 'small-int' ? Math.floor(r() * 3) : 4 * r() - 2));
  return makeTile(shape, dtype, data);
}

/** Einsum specs: plain, transposed and batched matmuls, products with no contraction, and non-matmul specs. */
const EINSUM_SPECS = [
  'ik,kj->ij', 'ki,kj->ij', 'ik,jk->ij', 'ki,jk->ij', 'ik,kj->ji', 'ij,j->i', 'j,jk->k', 'i,i->', 'i,j->ij',
  'ij,ij->i', 'ij,ij->', 'bik,bkj->bij', 'bik,bjk->bij', 'bki,bkj->bij', 'ibk,kbj->bij', 'bik,kj->bij',
  'abik,abkj->abij', 'bhqd,bhkd->bhqk', 'ijk,jkl->il', 'aB,Bc->ca',
  // not (batched) matmuls: one-sided sums, diagonals, unary and n-ary specs
  'ij,jk->k', 'ii,ij->j', 'ii->i', 'ii->', 'ijk->kij', 'ijk->j', 'ij->', 'ij,jk,kl->il',
  // scalars
  ',->', 'i,->i', '->',
];

function einsumCases(r: () => number, dtype: DType): Case[] {
  const cases: Case[] = [];
  for (const spec of EINSUM_SPECS) {
    for (let rep = 0; rep < 3; rep++) {
      const sizes = new Map<string, number>();
      for (const c of spec.replace(/[^a-zA-Z]/g, '')) if (!sizes.has(c)) sizes.set(c, dim(1, rep === 2 ? 40 : 7)(r));
      const [ins, out] = spec.split('->') as [string, string];
      const operands = ins.split(',');
      const tiles = operands.map((l) => tile(r, [...l].map((c) => sizes.get(c)!), dtype));
      const summed = [...sizes.keys()].filter((c) => !out.includes(c));
      cases.push({ label: `einsum ${spec} sizes ${JSON.stringify(Object.fromEntries(sizes))}`, call: { name: 'einsum', attrs: { spec } }, tiles, dtype,
        terms: summed.reduce((p, c) => p * sizes.get(c)!, 1) * operands.length });
    }
  }
  return cases;
}

const POSITIVE_ONLY: readonly UnaryFn[] = ['log', 'sqrt', 'powScalar', 'recip'];

function unaryCases(r: () => number, dtype: DType): Case[] {
  return UNARY_FNS.flatMap((fn) => [[dim(1, 9)(r)], [dim(1, 5)(r), dim(1, 6)(r), dim(1, 4)(r)], [dim(20, 70)(r), dim(20, 70)(r)]].map((shape) => {
    const attrs: Record<string, unknown> = { fn };
    if (fn === 'scale' || fn === 'addScalar') attrs.alpha = 4 * r() - 2;
    if (fn === 'powScalar') attrs.alpha = [0.5, 2, 3, -1.5][Math.floor(r() * 4)]!;
    return { label: `unary ${JSON.stringify(attrs)} [${shape}]`, call: { name: 'unary', attrs }, tiles: [tile(r, shape, dtype, POSITIVE_ONLY.includes(fn) ? 'positive' : 'signed')], dtype, terms: 1 };
  }));
}

/** Axis maps [a, b] for rank-3 and smaller outputs: same shape, broadcasts both ways, transposed operands, scalars. */
const AXIS_MAPS: readonly [number[], number[]][] = [
  [[0, 1], [0, 1]], [[0, 1], [1]], [[0, 1], [0]], [[1], [0, 1]], [[0, 1], [1, 0]], [[1, 0], [0]],
  [[0, 1], []], [[], [0]], [[0], [1]], [[0, 1, 2], [2, 0]], [[2, 0, 1], [1]], [[0, 2], [1, 2]], [[1, 2], [0]],
];

function binaryCases(r: () => number, dtype: DType): Case[] {
  const cases: Case[] = [];
  for (const fn of BINARY_FNS) {
    for (const [a, b] of AXIS_MAPS) {
      const rank = Math.max(-1, ...a, ...b) + 1;
      const out = Array.from({ length: rank }, () => dim(1, 6)(r));
      const kindA = fn === 'pow' ? 'positive' : fn === 'eq' ? 'small-int' : 'signed';
      const kindB = fn === 'div' ? 'positive' : fn === 'eq' ? 'small-int' : 'signed';
      const ta = tile(r, a.map((d) => out[d]!), dtype, kindA), tb = tile(r, b.map((d) => out[d]!), dtype, kindB);
      cases.push({ label: `binary ${fn} a=[${a}] b=[${b}] out [${out}]`, call: { name: 'binary', attrs: { fn, a, b } }, tiles: [ta, tb], dtype, terms: 1 });
    }
  }
  return cases;
}

function softmaxCases(r: () => number, dtype: DType, name: 'softmax' | 'logsumexp'): Case[] {
  const cases: Case[] = [];
  for (const rank of [1, 2, 3, 4]) {
    for (let axis = 0; axis < rank; axis++) {
      const shape = Array.from({ length: rank }, () => dim(1, rank === 4 ? 4 : 8)(r));
      const x = tile(r, shape, dtype);
      for (let i = 0; i < x.data.length; i++) x.data[i] = x.data[i]! * 10; // wide logits exercise the max shift
      cases.push({ label: `${name} axis ${axis} of [${shape}]`, call: { name, attrs: { axis } }, tiles: [x], dtype, terms: shape[axis]! });
    }
  }
  return cases;
}

function reduceCases(r: () => number, dtype: DType): Case[] {
  const cases: Case[] = [];
  const axesSets = [[0], [1], [2], [0, 2], [2, 0], [0, 1, 2], []];
  for (const fn of ['sum', 'max', 'min'] as const) {
    for (const axes of axesSets) {
      const shape = [dim(1, 6)(r), dim(1, 6)(r), dim(1, 30)(r)];
      cases.push({ label: `reduce ${fn} axes [${axes}] of [${shape}]`, call: { name: 'reduce', attrs: { fn, axes } }, tiles: [tile(r, shape, dtype)], dtype,
        terms: axes.reduce((p, d) => p * shape[d]!, 1) });
    }
  }
  return cases;
}

/**
 * The convolution family: random geometry (stride, padding, groups, non-square kernels, images that a
 * strided conv does not cover exactly), each call on its own tiles; max pooling with ties (ReLU zeros).
 */
function convCases(r: () => number, dtype: DType): Record<string, Case[]> {
  const out: Record<string, Case[]> = { conv2d: [], conv2dGradInput: [], conv2dGradWeight: [], maxPool2d: [], maxPool2dGrad: [] };
  for (let rep = 0; rep < 8; rep++) {
    const G = [1, 1, 2, 3][rep % 4]!, Cg = dim(1, 3)(r), Og = dim(1, 3)(r), N = dim(1, 3)(r);
    const KH = dim(1, 4)(r), KW = dim(1, 4)(r), sh = dim(1, 3)(r), sw = dim(1, 2)(r), ph = dim(0, KH - 1)(r), pw = dim(0, KW - 1)(r);
    const H = KH + dim(0, 7)(r), W = KW + dim(0, 7)(r), C = Cg * G, O = Og * G;
    const OH = Math.floor((H + 2 * ph - KH) / sh) + 1, OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
    const attrs = { image: [H, W], kernel: [KH, KW], stride: [sh, sw], padding: [ph, pw], groups: G, channels: C, filters: O };
    const x = tile(r, [N, C, H, W], dtype), w = tile(r, [O, Cg, KH, KW], dtype), g = tile(r, [N, O, OH, OW], dtype);
    const label = (k: string) => `${k} ${JSON.stringify(attrs)} N=${N}`;
    out.conv2d!.push({ label: label('conv2d'), call: { name: 'conv2d', attrs }, tiles: [x, w], dtype, terms: Cg * KH * KW });
    out.conv2dGradInput!.push({ label: label('conv2dGradInput'), call: { name: 'conv2dGradInput', attrs }, tiles: [g, w], dtype, terms: Og * KH * KW });
    out.conv2dGradWeight!.push({ label: label('conv2dGradWeight'), call: { name: 'conv2dGradWeight', attrs }, tiles: [g, x], dtype, terms: N * OH * OW });
    // Every other case: windows that tile the image (stride = window, no padding), the common pooling.
    const kh = dim(1, 3)(r), kw = dim(1, 3)(r), tiles = rep % 2 === 0;
    const pool = tiles ? { kernel: [kh, kw], stride: [kh, kw], padding: [0, 0] } : { kernel: [kh, kw], stride: [dim(1, 3)(r), dim(1, 3)(r)], padding: [dim(0, kh >> 1)(r), dim(0, kw >> 1)(r)] };
    const img = tile(r, [N, C, kh + dim(0, 6)(r), kw + dim(0, 6)(r)], dtype);
    img.data.forEach((v, i) => { img.data[i] = Math.max(0, v); }); // ties: as after a ReLU
    out.maxPool2d!.push({ label: `maxPool2d ${JSON.stringify(pool)} [${img.shape}]`, call: { name: 'maxPool2d', attrs: pool }, tiles: [img], dtype, terms: 1 });
    const pooled = applyKernel(REFERENCE, { name: 'maxPool2d', attrs: pool }, [img], dtype);
    out.maxPool2dGrad!.push({ label: `maxPool2dGrad ${JSON.stringify(pool)} [${img.shape}]`, call: { name: 'maxPool2dGrad', attrs: pool }, tiles: [img, tile(r, [...pooled.shape], dtype)], dtype, terms: 4 });
  }
  return out;
}

/** Cases ORT is not given (empty tiles) must still be right: they run on the reference implementation. */
function emptyCases(dtype: DType): Case[] {
  return [
    { label: 'einsum ik,kj->ij with k=0', call: { name: 'einsum', attrs: { spec: 'ik,kj->ij' } }, tiles: [makeTile([3, 0], dtype), makeTile([0, 2], dtype)], dtype, terms: 1 },
    { label: 'unary exp of [0,3]', call: { name: 'unary', attrs: { fn: 'exp' } }, tiles: [makeTile([0, 3], dtype)], dtype, terms: 1 },
    { label: 'reduce max over an empty axis', call: { name: 'reduce', attrs: { fn: 'max', axes: [1] } }, tiles: [makeTile([2, 0], dtype)], dtype, terms: 1 },
  ];
}

function families(seed: number, dtype: DType): Record<string, Case[]> {
  const r = rng(seed + (dtype === 'float64' ? 1 : 0));
  return {
    einsum: einsumCases(r, dtype),
    unary: unaryCases(r, dtype),
    binary: binaryCases(r, dtype),
    softmax: softmaxCases(r, dtype, 'softmax'),
    logsumexp: softmaxCases(r, dtype, 'logsumexp'),
    reduce: reduceCases(r, dtype),
    // onnxruntime's CPU provider has Conv/ConvTranspose for float32 only; float64 convs run the reference loops.
    ...Object.fromEntries(Object.entries(convCases(r, dtype)).filter(([k]) => dtype === 'float32' || k.startsWith('maxPool'))),
    fused: [[[6], [6]], [[3, 5], [5]], [[64, 80], [80]]].map(([sa, sb]) => ({
      label: `add[${sa}|${sb}] -> relu -> tanh`, call: { name: 'fused', attrs: { first: { name: 'binary', attrs: { fn: 'add', a: sa!.map((_, i) => i), b: [sa!.length - 1] } }, then: ['relu', 'tanh'] } },
      tiles: [tile(r, sa!, dtype), tile(r, sb!, dtype)], dtype, terms: 1,
    })),
    'unaryGrad relu': [[6], [3, 5], [2, 3, 4], [64, 80]].map((shape) => ({
      label: `drelu [${shape}]`, call: { name: 'unaryGrad', attrs: { fn: 'relu' } }, tiles: [tile(r, shape, dtype), tile(r, shape, dtype)], dtype, terms: 1,
    })),
  };
}

/** Mixed precision: float64 inputs, float32 output (and the reverse), as a plan may ask. */
function mixedCases(seed: number): Case[] {
  const r = rng(seed + 2);
  return [
    { label: 'einsum f64 inputs -> f32', call: { name: 'einsum', attrs: { spec: 'bik,bkj->bij' } }, tiles: [tile(r, [2, 3, 5], 'float64'), tile(r, [2, 5, 4], 'float64')], dtype: 'float32', terms: 10 },
    { label: 'binary f32 + f64 -> f64', call: { name: 'binary', attrs: { fn: 'mul', a: [0, 1], b: [1] } }, tiles: [tile(r, [4, 3], 'float32'), tile(r, [3], 'float64')], dtype: 'float64', terms: 1 },
    { label: 'softmax f64 -> f32', call: { name: 'softmax', attrs: { axis: 1 } }, tiles: [tile(r, [3, 7], 'float64')], dtype: 'float32', terms: 7 },
  ];
}

/**
 * Worst violation of |got - want| <= atol + rtol * |want| (<= 0 passes), or a description of a structural
 * mismatch. float32: rtol 1e-5 and atol 2e-6 per summed term (with |x| <= 2 inputs); float64: 1e-12.
 */
export function mismatch(got: Tile, want: Tile, terms: number, dtype: DType): string | undefined {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) return `shape [${got.shape}], expected [${want.shape}]`;
  if (got.data.length !== want.data.length) return `${got.data.length} elements, expected ${want.data.length}`;
  const [rtol, atol] = dtype === 'float64' ? [1e-12, 1e-12 * terms] : [1e-5, 2e-6 * Math.max(1, terms)];
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!, w = want.data[i]!;
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue; // equal infinities too
    if (!(Math.abs(g - w) <= atol + rtol * Math.abs(w))) return `element ${i}: got ${g}, expected ${w} (|diff| ${Math.abs(g - w)}, tolerance ${atol + rtol * Math.abs(w)})`;
  }
  return undefined;
}

function runCases(backend: string, cases: readonly Case[]): string[] {
  const failures: string[] = [];
  for (const c of cases) {
    const want = applyKernel(REFERENCE, c.call, c.tiles, c.dtype);
    let got: Tile;
    try {
      got = applyKernel(backend, c.call, c.tiles, c.dtype);
    } catch (e) {
      failures.push(`${c.label} (${c.dtype}): threw ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const bad = mismatch(got, want, c.terms, c.dtype);
    if (bad) failures.push(`${c.label} (${c.dtype}): ${bad}`);
  }
  return failures;
}

test('the comparison can fail: a perturbed, reshaped or retyped result is rejected', () => {
  const r = rng(SEED);
  const x = tile(r, [4, 5], 'float32');
  const want = applyKernel(REFERENCE, { name: 'softmax', attrs: { axis: 1 } }, [x], 'float32');
  assert.equal(mismatch(want, want, 5, 'float32'), undefined);
  const off = makeTile(want.shape, 'float32', want.data.slice());
  off.data[7] = off.data[7]! + 1e-3;
  assert.match(mismatch(off, want, 5, 'float32') ?? '', /element 7/);
  assert.match(mismatch(makeTile([5, 4], 'float32', want.data), want, 5, 'float32') ?? '', /shape/);
  assert.match(mismatch(makeTile([4, 5], 'float64', want.data), want, 5, 'float32') ?? '', /dtype/);
  const nan = makeTile(want.shape, 'float32', want.data.slice());
  nan.data[0] = NaN;
  assert.match(mismatch(nan, want, 5, 'float32') ?? '', /element 0/);
});

const others = [...new Set([...backendNames(), ORT])].filter((b) => b !== REFERENCE);

for (const backend of others) {
  const unavailable = backend === ORT && !ORT_STATUS.ok ? `onnxruntime-node cannot load here: ${ORT_STATUS.reason}` : undefined;
  describe(`backend '${backend}' conforms to the reference backend (seed ${SEED})`, { skip: unavailable }, () => {
    for (const dtype of ['float32', 'float64'] as const) {
      for (const [family, cases] of Object.entries(families(SEED, dtype))) {
        const kernel = cases[0]!.call.name;
        const skip = hasKernelImpl(backend, kernel) ? undefined : `'${backend}' has no '${kernel}' kernel`;
        test(`${family} ${dtype}: ${cases.length} cases`, { skip }, () => {
          const before = backend === ORT ? ortStats().fallbacks : 0;
          const failures = runCases(backend, cases);
          assert.deepEqual(failures, [], `${failures.length} of ${cases.length} ${family} cases differ from the reference (RELML_SEED=${SEED}):\n${failures.join('\n')}`);
          // Every one of these cases is meant for ORT itself: none may quietly run on the reference fallback.
          if (backend === ORT) assert.equal(ortStats().fallbacks - before, 0, `some ${family} cases fell back to the reference: ${[...ortStats().fallbackReasons].map(([k, v]) => `${k}: ${v}`).join('; ')}`);
        });
      }
    }
    test('mixed input and output dtypes', () => {
      assert.deepEqual(runCases(backend, mixedCases(SEED)), []);
    });
    test('empty tiles (reference fallback on ort) match the reference', () => {
      assert.deepEqual(runCases(backend, [...emptyCases('float32'), ...emptyCases('float64')]), []);
    });
    test('an unknown kernel name fails loudly', () => {
      assert.throws(() => applyKernel(backend, { name: 'noSuchKernel', attrs: {} }, [], 'float32'), (e: unknown) => e instanceof KernelError && /unknown kernel/.test(e.message));
    });
    test('kernels without a fast lowering (derivatives, reshape) still run and match', () => {
      const r = rng(SEED + 4);
      const x = tile(r, [3, 4], 'float32'), g = tile(r, [3, 4], 'float32');
      const cases = ([
        { label: 'softmaxGrad', call: { name: 'softmaxGrad', attrs: { axis: 1 } }, tiles: [x, g], dtype: 'float32', terms: 4 },
        { label: 'unaryGrad tanh', call: { name: 'unaryGrad', attrs: { fn: 'tanh' } }, tiles: [x, g], dtype: 'float32', terms: 1 },
        { label: 'reshape', call: { name: 'reshape', attrs: { shape: [2, 6] } }, tiles: [x], dtype: 'float32', terms: 1 },
      ] as Case[]).filter((c) => hasKernelImpl(backend, c.call.name));
      assert.deepEqual(runCases(backend, cases), []);
    });
    test('repeated calls reuse the cached session and give the same result', () => {
      const r = rng(SEED + 3);
      const call = { name: 'einsum', attrs: { spec: 'ik,kj->ij' } };
      const a = tile(r, [5, 6], 'float32'), b = tile(r, [6, 3], 'float32');
      const first = applyKernel(backend, call, [a, b], 'float32');
      const compiles = backend === ORT ? ortStats().compiles : 0;
      for (let i = 0; i < 5; i++) assert.deepEqual(applyKernel(backend, call, [a, b], 'float32').data, first.data);
      if (backend === ORT) assert.equal(ortStats().compiles, compiles, 'a repeated signature compiled a new session');
      // a new alpha is a runtime input, not a new session
      const s1 = applyKernel(backend, { name: 'unary', attrs: { fn: 'scale', alpha: 2 } }, [a], 'float32');
      const afterFirst = backend === ORT ? ortStats().compiles : 0;
      const s2 = applyKernel(backend, { name: 'unary', attrs: { fn: 'scale', alpha: -3 } }, [a], 'float32');
      assert.equal(s1.data[0], 2 * a.data[0]!);
      assert.equal(s2.data[0], Math.fround(-3 * a.data[0]!));
      if (backend === ORT) assert.equal(ortStats().compiles, afterFirst, 'a new alpha compiled a new session');
    });
  });
}

/**
 * Lowerings that only the one-graph path uses (exec/inproc/graph.ts composes whole plans from them): the
 * shape and derivative kernels, run here through lowerCall + an ORT session of their own.
 */
function lowerOnly(r: () => number, dtype: DType): Case[] {
  const cases: Case[] = [];
  const add = (label: string, name: string, attrs: Record<string, unknown>, tiles: Tile[], terms = 1) => cases.push({ label, call: { name, attrs }, tiles, dtype, terms });
  const x = tile(r, [3, 4, 5], dtype), g3 = tile(r, [3, 4, 5], dtype);
  add('reshape', 'reshape', { shape: [12, 5] }, [x]);
  add('expandDims', 'expandDims', { axis: 1 }, [tile(r, [3, 5], dtype)]);
  add('reshapeGrad', 'reshapeGrad', {}, [x, tile(r, [60], dtype)]);
  add('second', 'second', {}, [x, g3]);
  for (const [spec, gShape] of [['abc->a', [3]], ['abc->', []], ['abc->ca', [5, 3]], ['abc->bac', [4, 3, 5]]] as const) add(`einsumGrad ${spec}`, 'einsumGrad', { spec }, [x, tile(r, [...gShape], dtype)]);
  for (const fn of ['sum', 'max', 'min'] as const) for (const axes of [[1], [0, 2], []]) {
    const kept = [3, 4, 5].filter((_, d) => !axes.includes(d));
    const xi = tile(r, [3, 4, 5], dtype, 'small-int'); // small integers: ties at the extreme
    add(`reduceGrad ${fn} [${axes}]`, 'reduceGrad', { fn, axes }, [xi, tile(r, kept, dtype)]);
  }
  for (const axis of [0, 2]) {
    add(`softmaxGrad axis ${axis}`, 'softmaxGrad', { axis }, [x, g3], 5);
    add(`logsumexpGrad axis ${axis}`, 'logsumexpGrad', { axis }, [x, tile(r, [3, 4, 5].filter((_, d) => d !== axis), dtype)], 5);
  }
  for (const fn of BINARY_FNS) for (const wrt of [0, 1]) {
    const kind = fn === 'pow' || fn === 'div' ? 'positive' : 'small-int'; // small integers: ties for max/min
    add(`binaryPartial ${fn} wrt ${wrt}`, 'binaryPartial', { fn, wrt, a: [0, 1], b: [1] }, [tile(r, [3, 4], dtype, kind), tile(r, [4], dtype, kind)]);
    add(`binaryPartial ${fn} wrt ${wrt} (transposed)`, 'binaryPartial', { fn, wrt, a: [1, 0], b: [0, 2] }, [tile(r, [4, 3], dtype, kind), tile(r, [3, 2], dtype, kind)]);
  }
  for (const fn of UNARY_FNS) {
    const attrs: Record<string, unknown> = { fn };
    if (fn === 'scale' || fn === 'addScalar') attrs.alpha = 1.5;
    if (fn === 'powScalar') attrs.alpha = 2.5;
    add(`unaryGrad ${fn}`, 'unaryGrad', attrs, [tile(r, [4, 6], dtype, POSITIVE_ONLY.includes(fn) ? 'positive' : 'signed'), tile(r, [4, 6], dtype)], 2);
  }
  return cases;
}

describe('lowerings of the shape and derivative kernels (one-graph path) match the reference', { skip: ORT_STATUS.ok ? undefined : 'onnxruntime-node cannot load here' }, () => {
  for (const dtype of ['float32', 'float64'] as const) {
    test(dtype, () => {
      const failures: string[] = [];
      for (const c of lowerOnly(rng(SEED + 7), dtype)) {
        const want = applyKernel(REFERENCE, c.call, c.tiles, dtype);
        const lowered = lowerCall(c.call.name, c.call.attrs, c.tiles.map((t) => t.shape), c.tiles.map((t) => t.dtype), want.shape, dtype);
        if (!lowered) { if (c.call.attrs.fn !== 'stopGradient') failures.push(`${c.label}: no lowering`); continue; }
        const session = new OrtSession(lowered.model, 1), got = makeTile(want.shape, dtype);
        session.run(c.tiles.map((t) => ({ data: t.data, dims: t.shape, dtype: t.dtype })), { data: got.data, dims: got.shape, dtype });
        session.dispose();
        const bad = mismatch(got, want, c.terms, dtype);
        if (bad) failures.push(`${c.label}: ${bad}`);
      }
      assert.deepEqual(failures, []);
    });
  }
});

test('tiny calls on the ort backend run the reference kernel (a fixed ORT call cost would dominate)', () => {
  if (!ORT_STATUS.ok) return;
  setOrtSmallWork(4096);
  try {
    const a = makeTile([4, 4], 'float32', Float32Array.from({ length: 16 }, (_, i) => i)), b = makeTile([4, 4], 'float32', Float32Array.from({ length: 16 }, (_, i) => 16 - i));
    const before = ortStats();
    const got = applyKernel(ORT, { name: 'einsum', attrs: { spec: 'ik,kj->ij' } }, [a, b], 'float32');
    const after = ortStats();
    assert.equal(after.small - before.small, 1);
    assert.equal(after.calls, before.calls);
    assert.deepEqual(Array.from(got.data), Array.from(applyKernel(REFERENCE, { name: 'einsum', attrs: { spec: 'ik,kj->ij' } }, [a, b], 'float32').data));
  } finally { setOrtSmallWork(0); }
});

test('a kernel defined after the ort backend loaded runs on ort through its reference fallback; an unknown one still fails', async () => {
  if (!ORT_STATUS.ok) return;
  const { defineKernel, registerKernelImpl } = await import('../../src/kernels/registry.js');
  defineKernel({ name: 'testLateDouble', arity: 1, outDims: (s) => s[0]!.map((_, dim) => ({ input: 0, dim })), describe: () => 'double' });
  registerKernelImpl(REFERENCE, 'testLateDouble', (t, _a, s, dt) => makeTile(s, dt, Array.from(t[0]!.data, (v) => 2 * v)));
  const out = applyKernel(ORT, { name: 'testLateDouble', attrs: {} }, [makeTile([3], 'float32', [1, 2, 3])], 'float32');
  assert.deepEqual(Array.from(out.data), [2, 4, 6]);
  assert.throws(() => applyKernel(ORT, { name: 'noSuchKernel', attrs: {} }, [], 'float32'), KernelError);
});
