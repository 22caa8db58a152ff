/** Shared benchmark helpers: medians of timed runs, numpy in a child process, tfjs-wasm loading, tables. */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

export const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** Median seconds of `runs` calls after one warm-up call. */
export async function timeIt(f: () => unknown, runs: number): Promise<number> {
  await f();
  const ts: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    await f();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}

/** Deterministic uniform [-1, 1) float32 data. */
export function randomData(n: number, seed: number, scale = 1): Float32Array {
  const data = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = (s / 2 ** 31 - 1) * scale; }
  return data;
}

/**
 * Runs a python3 snippet that prints one JSON line, with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset so
 * OpenBLAS picks its fastest kernels (they are set on some machines for older builds).
 */
export function python(script: string, python3 = 'python3'): unknown {
  const r = spawnSync('env', ['-u', 'OPENBLAS_CORETYPE', '-u', 'OPENBLAS_L2_SIZE', python3, '-c', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${python3} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** TensorFlow.js with the wasm backend (SIMD), or a reason it is unavailable. */
export async function loadTfjsWasm(): Promise<typeof import('@tensorflow/tfjs') | string> {
  try {
    // The union package's Node bundle registers every op's gradient (tfjs-core alone does not).
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const req = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    await tf.setBackend('wasm');
    await tf.ready();
    return tf;
  } catch (e) {
    return `tfjs-wasm unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => (c ?? '').padStart(widths[i]!)).join('  ')).join('\n');
}

export const fmt = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

/**
 * Seconds of each of `n` training steps (compiled step plus optimizer update) after `warmup` untimed ones.
 * Structural types keep this file free of engine imports (train_compare.ts sets the environment first).
 */
export async function timeSteps<B extends { x: unknown; y: unknown }, G>(step: (x: B['x'], y: B['y']) => Promise<{ grads: G }>, update: (grads: G) => void,
  batches: Iterator<B>, n: number, warmup = 2): Promise<number[]> {
  const ts: number[] = [];
  for (let s = 0; s < n + warmup; s++) {
    const b = batches.next().value as B;
    const t = performance.now();
    update((await step(b.x, b.y)).grads);
    if (s >= warmup) ts.push((performance.now() - t) / 1000);
  }
  return ts;
}
