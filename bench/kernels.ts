/**
 * Matmul throughput of the kernel backends against numpy, in one run on one machine:
 *   node dist/bench/kernels.js [--sizes 256,512,1024,2048] [--runs 5]
 * Times einsum "ik,kj->ij" (float32) through applyKernel on 'reference' (up to n=512: it is slow) and
 * 'ort', and numpy's float32 `a @ b` in a python3 child (OpenBLAS with its CPU-type overrides unset),
 * size by size.
 * Every figure is the median of `runs` timed calls after one warm-up call (which also builds ort's
 * session). Prints GFLOP/s (2n^3 / time) and the ort/numpy ratio, plus the per-call latency of a 4x4
 * matmul, which measures fixed overhead rather than arithmetic.
 */
import { spawnSync } from 'node:child_process';
import { ORT, ORT_STATUS } from '../src/kernels/ort/index.js';
import { REFERENCE } from '../src/kernels/reference/index.js';
import { applyKernel } from '../src/kernels/registry.js';
import { makeTile, type Tile } from '../src/tile.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const SIZES = arg('sizes', '256,512,1024,2048').split(',').map(Number);
const RUNS = Number(arg('runs', '5'));
const REFERENCE_MAX = 512;
const MATMUL = { name: 'einsum', attrs: { spec: 'ik,kj->ij' } } as const;

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Deterministic uniform [-1, 1) data (a small LCG), so runs are comparable. */
function randomTile(shape: number[], seed: number): Tile {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = s / 2 ** 31 - 1; }
  return makeTile(shape, 'float32', data);
}

/** Median seconds of one call after a warm-up call. */
function timeIt(f: () => void, runs: number): number {
  f();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    f();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}

/** numpy float32 matmul medians (seconds) per size, measured in a python3 child process. */
function numpyTimes(sizes: number[], runs: number): Map<number, number> | string {
  const script = `
import json, sys, time
import numpy as np
out = {}
for n in ${JSON.stringify(sizes)}:
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    a @ b
    ts = []
    for _ in range(${runs}):
        t0 = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t0)
    out[n] = sorted(ts)[len(ts) // 2]
print(json.dumps(out))
`;
  const r = spawnSync('env', ['-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE', 'python3', '-c', script], { encoding: 'utf8' });
  if (r.status !== 0) return `python3/numpy failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  const parsed = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  return new Map(Object.entries(parsed).map(([k, v]) => [Number(k), v]));
}

const gflops = (n: number, s: number): string => (2 * n ** 3 / s / 1e9).toFixed(2);
const ms = (s: number | undefined): string => (s === undefined ? '-' : (s * 1e3).toFixed(2));

function main(): void {
  if (!ORT_STATUS.ok) console.log(`ort backend unavailable (${ORT_STATUS.reason}); timing reference and numpy only`);
  const backends = ORT_STATUS.ok ? [REFERENCE, ORT] : [REFERENCE];
  console.log(`matmul float32, median of ${RUNS} runs; ort ${ORT_STATUS.ok ? ORT_STATUS.version : 'n/a'}; node ${process.version}`);

  // Fixed per-call cost: a 4x4 matmul through applyKernel.
  const a4 = randomTile([4, 4], 1), b4 = randomTile([4, 4], 2);
  for (const be of backends) {
    const calls = 20000;
    const per = timeIt(() => { for (let i = 0; i < calls; i++) applyKernel(be, MATMUL, [a4, b4], 'float32'); }, 3) / calls;
    console.log(`4x4 matmul per call on ${be}: ${(per * 1e6).toFixed(1)} us`);
  }

  // Size by size, each backend then numpy back to back, so a change in machine load hits both sides of a ratio.
  const times = new Map<string, Map<number, number>>(backends.map((be) => [be, new Map()]));
  const np = new Map<number, number>();
  let npError: string | undefined;
  for (const n of SIZES) {
    const a = randomTile([n, n], 3), b = randomTile([n, n], 4);
    for (const be of backends) {
      if (be === REFERENCE && n > REFERENCE_MAX) continue;
      times.get(be)!.set(n, timeIt(() => applyKernel(be, MATMUL, [a, b], 'float32'), RUNS));
    }
    if (npError === undefined) {
      const r = numpyTimes([n], RUNS);
      if (typeof r === 'string') npError = r;
      else np.set(n, r.get(n)!);
    }
  }
  if (npError !== undefined) console.log(npError);

  const header = ['n', ...backends.flatMap((be) => [`${be} ms`, `${be} GFLOP/s`]), 'numpy ms', 'numpy GFLOP/s', 'ort/numpy'];
  const rows = SIZES.map((n) => {
    const cells = [String(n)];
    for (const be of backends) {
      const s = times.get(be)!.get(n);
      cells.push(ms(s), s === undefined ? '-' : gflops(n, s));
    }
    const ns = np.get(n);
    cells.push(ms(ns), ns === undefined ? '-' : gflops(n, ns));
    const os = times.get(ORT)?.get(n);
    // Throughput ratio: ort GFLOP/s over numpy GFLOP/s (1.00 = parity, above 1 = ort faster).
    cells.push(os !== undefined && ns !== undefined ? (ns / os).toFixed(2) : '-');
    return cells;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

main();
