/**
 * Runs the sparse × dense row loop (spmm_wasm.ts) on the calling thread and, for large products, on a
 * small pool of worker threads that share one WebAssembly memory with it.
 *
 * Per call the operands are copied into that memory (an arena reused from call to call, grown to the
 * largest call so far), the output rows are cut into `threads` parts of about equal work (nonzeros plus
 * one per row), each worker is posted its part, the calling thread computes the first part, waits on a
 * shared control word (Atomics.wait) and copies the result out into an ordinary tile buffer (onnxruntime
 * rejects views of shared memory). Workers start on the first large call and are unref'd, so an idle
 * pool never keeps the process alive. The memory keeps its largest size (about 200 MB for the full-size
 * GCN) until closeSparsePool().
 *
 * A worker that throws fails the call with a KernelError carrying its message; one that stops making
 * progress (dead, or stuck) fails it after `stallMs`. Either way the pool is dropped — workers terminated,
 * memory abandoned (a stuck worker may still write into it) — and the next call starts a fresh one.
 */
import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';
import { KernelError } from '../errors.js';
import { allocData, type DType, type TileData } from '../tile.js';
import { instantiate, PAGE, sharedMemory, spmmWasmModule, type SpmmWasmFn, type WasmMemory } from './spmm_wasm.js';

export interface SparseKernelOptions {
  /**
   * Threads one large product is split over: the calling thread plus threads − 1 workers. Default
   * RELML_SPARSE_THREADS, else min(2, cores) on the main thread and 1 in a worker thread (an executor
   * site: there the sites already divide the cores between them).
   */
  threads: number;
  /** Work (nonzeros × dense columns) from which a product is split over the threads; smaller ones stay on the calling thread. */
  parallelMin: number;
  /** Use the WebAssembly kernel where the runtime has SIMD; false: the TypeScript loop (sparse.ts), one thread. */
  wasm: boolean;
  /** A worker that shows no progress for this long fails the call. */
  stallMs: number;
  /** Tests only: make the workers throw or hang on their next part. */
  fault?: 'throw' | 'hang';
}

function defaultThreads(): number {
  const env = Number(process.env.RELML_SPARSE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return isMainThread ? Math.min(2, availableParallelism()) : 1;
}

const options: SparseKernelOptions = { threads: defaultThreads(), parallelMin: 2 ** 22, wasm: true, stallMs: 10_000 };

/** Reads the sparse kernels' options, after applying `change` (tests lower parallelMin to force the pool). */
export function sparseKernelOptions(change: Partial<SparseKernelOptions> = {}): Readonly<SparseKernelOptions> {
  Object.assign(options, change);
  options.threads = Math.max(1, Math.floor(options.threads) || 1);
  if ('fault' in change && change.fault === undefined) delete options.fault;
  return { ...options };
}

// The control block each worker shares with the caller: state, a progress counter, an error message.
const STATE = 0, PROGRESS = 1, MSG_LEN = 2, MSG_AT = 16, MSG_MAX = 1024;
const PENDING = 0, DONE = 1, FAILED = 2;

/** One part of a product, as posted to a worker (spmm_worker.ts). */
export interface Job { f64: boolean; args: [number, number, number, number, number, number]; r0: number; r1: number; fault?: 'throw' | 'hang' }
export const CTRL = { STATE, PROGRESS, MSG_LEN, MSG_AT, MSG_MAX, DONE, FAILED } as const;

interface Slot { worker: Worker; ctrl: Int32Array; dead?: string }

class Pool {
  readonly kernels: { f32: SpmmWasmFn; f64: SpmmWasmFn };
  readonly slots: Slot[] = [];
  constructor(readonly memory: WasmMemory, private readonly module: object) {
    this.kernels = instantiate(module, memory);
  }

  /** Grows the memory to hold `bytes`; false where it cannot (the caller then uses the TypeScript loop). */
  reserve(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    try { this.memory.grow(Math.ceil((bytes - have) / PAGE)); return true; } catch { return false; }
  }

  /** The first n workers, started as needed; a worker seen dead between calls is replaced. */
  workers(n: number): Slot[] {
    for (let w = 0; w < n; w++) {
      const s = this.slots[w];
      if (s && s.dead === undefined) continue;
      if (s) void s.worker.terminate().catch(() => undefined);
      this.slots[w] = this.start();
    }
    return this.slots.slice(0, n);
  }

  private start(): Slot {
    const ctrl = new Int32Array(new SharedArrayBuffer(MSG_AT + MSG_MAX));
    const worker = new Worker(new URL('./spmm_worker.js', import.meta.url), { workerData: { module: this.module, memory: this.memory, ctrl } });
    const slot: Slot = { worker, ctrl };
    worker.on('error', (e: Error) => { slot.dead ??= `threw ${e.message}`; });
    worker.on('exit', (code: number) => { slot.dead ??= `exited with code ${code}`; });
    worker.unref();
    return slot;
  }

  close(): Promise<unknown> {
    return Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }
}

let pool: Pool | null | undefined;
function getPool(): Pool | null {
  if (pool === undefined) {
    const module = spmmWasmModule(), memory = module ? sharedMemory(1) : null;
    pool = module && memory ? new Pool(memory, module) : null;
  }
  return pool;
}

let parallelCalls = 0;
/** Workers running now, and products split over threads so far in this thread. */
export function sparsePoolStats(): { workers: number; parallelCalls: number } {
  return { workers: pool ? pool.slots.filter((s) => s.dead === undefined).length : 0, parallelCalls };
}

/** Terminates the sparse kernels' workers and releases their memory (a later call starts afresh). */
export async function closeSparsePool(): Promise<void> {
  const p = pool;
  pool = undefined;
  if (p) await p.close();
}

/** Row boundaries cutting [0, rows) into `parts` ranges of about equal nonzeros + rows. */
export function splitRows(indptr: Int32Array, parts: number): number[] {
  const rows = indptr.length - 1, total = indptr[rows]! + rows, cuts = [0];
  for (let t = 1; t < parts; t++) {
    const target = (total * t) / parts;
    let lo = cuts[t - 1]!, hi = rows;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (indptr[mid]! + mid < target) lo = mid + 1; else hi = mid; }
    cuts.push(lo);
  }
  cuts.push(rows);
  return cuts;
}

const align = (n: number) => (n + 15) & ~15;

/**
 * out[i,:] = Σ v·h[j,:] over row i's nonzeros (i, j, v), in `dtype`, on the WebAssembly kernel and for
 * large products on several threads; null where the kernel is unavailable or switched off, or the operands
 * do not fit in its memory (the caller then runs the TypeScript loop). `kernel` names the caller in errors.
 */
export function spmmWasm(kernel: string, indptr: Int32Array, indices: Int32Array, vals: TileData, h: TileData, k: number, dtype: DType): TileData | null {
  if (!options.wasm) return null;
  const p = getPool();
  if (!p) return null;
  const rows = indptr.length - 1, nnz = indices.length, e = dtype === 'float64' ? 8 : 4;
  if (rows === 0 || k === 0) return allocData(dtype, rows * k);
  const at = { indptr: 0, indices: align(4 * (rows + 1)), vals: 0, h: 0, out: 0, end: 0 };
  at.vals = at.indices + align(4 * nnz);
  at.h = at.vals + align(e * nnz);
  at.out = at.h + align(e * h.length);
  at.end = at.out + e * rows * k;
  if (at.end > 2 ** 32 || !p.reserve(at.end)) return null;
  const buf = p.memory.buffer;
  const view = (offset: number, n: number): TileData => (e === 8 ? new Float64Array(buf, offset, n) : new Float32Array(buf, offset, n));
  new Int32Array(buf, at.indptr, rows + 1).set(indptr);
  new Int32Array(buf, at.indices, nnz).set(indices);
  view(at.vals, nnz).set(vals);
  view(at.h, h.length).set(h);
  const args: Job['args'] = [at.indptr, at.indices, at.vals, at.h, at.out, k];
  const threads = nnz * k >= options.parallelMin ? Math.min(options.threads, rows) : 1;
  const cuts = splitRows(indptr, threads);
  const slots = threads > 1 ? p.workers(threads - 1) : [];
  if (threads > 1) parallelCalls++;
  slots.forEach((s, w) => {
    Atomics.store(s.ctrl, STATE, PENDING);
    Atomics.store(s.ctrl, PROGRESS, 0);
    s.worker.postMessage({ f64: e === 8, args, r0: cuts[w + 1]!, r1: cuts[w + 2]!, fault: options.fault } satisfies Job);
  });
  (e === 8 ? p.kernels.f64 : p.kernels.f32)(...args, cuts[0]!, cuts[1]!);
  slots.forEach((s, w) => waitFor(kernel, s, w + 1));
  const out = allocData(dtype, rows * k);
  out.set(view(at.out, rows * k));
  return out;
}

/** Blocks until worker `n` finishes its part; on a failure or stall drops the pool and throws. */
function waitFor(kernel: string, s: Slot, n: number): void {
  let seen = -1, since = performance.now();
  for (;;) {
    const state = Atomics.load(s.ctrl, STATE);
    if (state === DONE) return;
    if (state === FAILED) {
      const len = Math.min(Atomics.load(s.ctrl, MSG_LEN), MSG_MAX);
      const msg = new TextDecoder().decode(new Uint8Array(s.ctrl.buffer, MSG_AT, len).slice());
      fail(kernel, n, `threw: ${msg}`);
    }
    Atomics.wait(s.ctrl, STATE, PENDING, Math.min(100, options.stallMs));
    const progress = Atomics.load(s.ctrl, PROGRESS), now = performance.now();
    if (progress !== seen) { seen = progress; since = now; } else if (now - since > options.stallMs && Atomics.load(s.ctrl, STATE) === PENDING) {
      fail(kernel, n, `made no progress for ${options.stallMs} ms${s.dead ? ` (${s.dead})` : ''}`);
    }
  }
}

function fail(kernel: string, worker: number, reason: string): never {
  const p = pool;
  pool = undefined;
  if (p) void p.close();
  throw new KernelError(kernel, `sparse worker ${worker} ${reason}; its pool was shut down and the next call starts a new one`, { worker });
}
