/**
 * The sparse products on the WebAssembly kernel and its worker pool (src/kernels/spmm_pool.ts): split over
 * threads (forced by lowering the work threshold) they equal the one-thread result bit for bit, the
 * TypeScript loop to 1e-12 (float64) and a dense float64 product, on ragged row distributions and column
 * counts that exercise every block width; a worker that throws or hangs fails the call with a KernelError
 * and the next call runs on a fresh pool. No test closes the pool: the file exiting shows it never keeps
 * the process alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { afterEach, test } from 'node:test';
import { KernelError } from '../../src/index.js';
import { spmmTile, spmmTTile } from '../../src/kernels/sparse.js';
import { sparseKernelOptions, sparsePoolStats, splitRows } from '../../src/kernels/spmm_pool.js';
import type { DType, Tile } from '../../src/tile.js';
import { maxRelErr, randomData, rng } from '../helpers/dense.js';

const defaults = sparseKernelOptions();
afterEach(() => { sparseKernelOptions({ ...defaults, fault: undefined }); });

/** A CSR tile [n, m] whose row i has rowNnz(i) nonzeros at random columns (sorted, repeats allowed). */
function csrTile(n: number, m: number, rowNnz: (i: number) => number, dtype: DType, seed: number): Tile {
  const r = rng(seed), indptr = new Int32Array(n + 1), cols: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: rowNnz(i) }, () => Math.floor(r() * m)).sort((a, b) => a - b);
    cols.push(...row);
    indptr[i + 1] = cols.length;
  }
  const vals = randomData(cols.length, r);
  return { shape: [n, m], dtype, data: dtype === 'float64' ? vals : Float32Array.from(vals), csr: { indptr, indices: Int32Array.from(cols) } };
}

function dense(shape: [number, number], dtype: DType, seed: number): Tile {
  const d = randomData(shape[0] * shape[1], rng(seed));
  return { shape, dtype, data: dtype === 'float64' ? d : Float32Array.from(d) };
}

/** A·H (or Aᵀ·G) in float64 from A's nonzeros. */
function reference(a: Tile, h: Tile, transpose: boolean): Float64Array {
  const [n, m] = a.shape as [number, number], k = h.shape[1]!, { indptr, indices } = a.csr!;
  const out = new Float64Array((transpose ? m : n) * k);
  for (let i = 0; i < n; i++) for (let p = indptr[i]!; p < indptr[i + 1]!; p++) {
    const j = indices[p]!, v = a.data[p]!, [o, s] = transpose ? [j, i] : [i, j];
    for (let x = 0; x < k; x++) out[o * k + x] += v * h.data[s * k + x]!;
  }
  return out;
}

const shapes: { name: string; n: number; m: number; rowNnz: (i: number) => number }[] = [
  { name: 'uniform', n: 300, m: 250, rowNnz: (i) => 1 + (i * 7) % 13 },
  { name: 'empty rows', n: 300, m: 250, rowNnz: (i) => (i % 3 === 0 || i > 250 ? 0 : 4) },
  { name: 'one row holds most nonzeros', n: 200, m: 300, rowNnz: (i) => (i === 150 ? 5000 : i % 4 === 0 ? 1 : 0) },
  { name: 'all nonzeros in the first row', n: 50, m: 40, rowNnz: (i) => (i === 0 ? 400 : 0) },
];

for (const dtype of ['float32', 'float64'] as const) {
  for (const s of shapes) {
    test(`${dtype}, ${s.name}: spmm and spmmT on 2 and 3 threads equal one thread bit for bit, the TypeScript loop and a dense product`, () => {
      const a = csrTile(s.n, s.m, s.rowNnz, dtype, s.n + s.m);
      for (const k of [1, 3, 37, 70]) { // 37 = 32 + 4 + 1 columns (float32 blocks), 70 = 4·16 + 3·2 (float64)
        const h = dense([s.m, k], dtype, k), g = dense([s.n, k], dtype, k + 1);
        const run = () => [spmmTile(a, h, [s.n, k], dtype).data, spmmTTile(g, a, [s.m, k], dtype).data];
        sparseKernelOptions({ threads: 1 });
        const one = run();
        for (const threads of [2, 3]) {
          sparseKernelOptions({ threads, parallelMin: 0 });
          const before = sparsePoolStats().parallelCalls;
          const many = run();
          assert.equal(sparsePoolStats().parallelCalls, before + 2, 'both products were split');
          many.forEach((d, i) => assert.deepEqual(d, one[i], `k ${k}, ${threads} threads, ${i ? 'spmmT' : 'spmm'}`));
        }
        sparseKernelOptions({ wasm: false });
        const ts = run();
        const want = [reference(a, h, false), reference(a, g, true)];
        one.forEach((d, i) => {
          assert.equal(d.constructor, dtype === 'float64' ? Float64Array : Float32Array);
          const tol = dtype === 'float64' ? 1e-12 : 1e-5;
          assert.ok(maxRelErr(d, ts[i]!) < tol, `k ${k}: against the TypeScript loop ${maxRelErr(d, ts[i]!)}`);
          assert.ok(maxRelErr(d, want[i]!) < tol, `k ${k}: against the dense product ${maxRelErr(d, want[i]!)}`);
        });
        sparseKernelOptions({ wasm: true });
      }
    });
  }
}

test('splitRows cuts rows into parts of about equal nonzeros + rows, empty parts allowed', () => {
  assert.deepEqual(splitRows(Int32Array.from([0, 10, 10, 10, 10, 10]), 2), [0, 1, 5]);
  assert.deepEqual(splitRows(Int32Array.from([0, 2, 4, 6, 8]), 2), [0, 2, 4]);
  assert.deepEqual(splitRows(Int32Array.from([0, 1]), 3), [0, 1, 1, 1]);
  assert.deepEqual(splitRows(Int32Array.from([0]), 2), [0, 0, 0]);
});

test('products below the work threshold stay on the calling thread', () => {
  const a = csrTile(100, 100, () => 5, 'float32', 1), h = dense([100, 8], 'float32', 2);
  sparseKernelOptions({ threads: 2, parallelMin: 100 * 5 * 8 + 1 });
  const before = sparsePoolStats().parallelCalls;
  spmmTile(a, h, [100, 8], 'float32');
  assert.equal(sparsePoolStats().parallelCalls, before);
  sparseKernelOptions({ parallelMin: 100 * 5 * 8 });
  spmmTile(a, h, [100, 8], 'float32');
  assert.equal(sparsePoolStats().parallelCalls, before + 1);
});

test('a worker that throws or hangs fails the call with a KernelError, and the next call runs on a fresh pool', () => {
  const a = csrTile(200, 200, () => 6, 'float64', 3), h = dense([200, 16], 'float64', 4);
  sparseKernelOptions({ threads: 2, parallelMin: 0 });
  const want = spmmTile(a, h, [200, 16], 'float64').data;
  sparseKernelOptions({ fault: 'throw' });
  assert.throws(() => spmmTile(a, h, [200, 16], 'float64'), (e: unknown) =>
    e instanceof KernelError && e.details.kernel === 'spmm' && e.details.worker === 1 && /injected fault/.test(e.message));
  sparseKernelOptions({ fault: undefined });
  assert.deepEqual(spmmTile(a, h, [200, 16], 'float64').data, want);
  sparseKernelOptions({ fault: 'hang', stallMs: 300 });
  const t0 = performance.now();
  assert.throws(() => spmmTTile(h, a, [200, 16], 'float64'), (e: unknown) =>
    e instanceof KernelError && e.details.kernel === 'spmmT' && /no progress for 300 ms/.test(e.message));
  assert.ok(performance.now() - t0 < 5000, 'the stall is detected within its limit');
  sparseKernelOptions({ fault: undefined });
  assert.deepEqual(spmmTile(a, h, [200, 16], 'float64').data, want);
});

test('RELML_SPARSE_THREADS sets the thread count', () => {
  const mod = new URL('../../src/kernels/spmm_pool.js', import.meta.url).href;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import(${JSON.stringify(mod)}).then((m) => console.log(m.sparseKernelOptions().threads))`],
    { env: { ...process.env, RELML_SPARSE_THREADS: '3' }, encoding: 'utf8' });
  assert.equal(child.stdout.trim(), '3', child.stderr);
});
