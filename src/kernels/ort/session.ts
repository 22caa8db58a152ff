/**
 * onnxruntime-node, used synchronously. The package's public `InferenceSession.create/run` return promises,
 * but they are thin wrappers (lib/backend.ts) that call a *synchronous* native binding inside setImmediate.
 * The kernel contract is synchronous, so we load that binding directly (`onnxruntime-node/dist/binding.js`,
 * which also performs the one-time native init) and call `loadModel` / `run` on it: same native code, no
 * promise, no event-loop hop. (The public async API gives no concurrency either: its native work also runs
 * on the JS thread, one setImmediate later, so an async kernel API would only add latency.) This relies on
 * a package-internal module, hence the exact version pin in package.json and feature detection here: if
 * the binding cannot be loaded (or RELML_ORT=off), `ortAvailable()` says why and 'ort' is not registered.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { DType, TileData } from '../../tile.js';

/** The subset of the native binding's InferenceSession we use (see onnxruntime-node lib/binding.ts). */
interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, unknown>, options: object): Record<string, { data: TileData; dims: readonly number[] }>;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
  dispose(): void;
}
type TensorCtor = new (type: string, data: TileData, dims: readonly number[]) => unknown;

interface Ort {
  Session: new () => NativeSession;
  Tensor: TensorCtor;
  version: string;
}

let ort: Ort | undefined;
let loadError: string | undefined;

function load(): Ort | undefined {
  if (ort || loadError !== undefined) return ort;
  if (process.env.RELML_ORT === 'off') { loadError = 'disabled by RELML_ORT=off'; return undefined; }
  try {
    const req = createRequire(import.meta.url);
    const bindingPath = req.resolve('onnxruntime-node/dist/binding.js');
    const b = req(bindingPath) as { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void };
    // Resolve onnxruntime-common from the binding's own location so our Tensor is the class it was initialised with.
    const common = createRequire(bindingPath)('onnxruntime-common') as { Tensor: TensorCtor };
    const pkg = req('onnxruntime-node/package.json') as { version: string };
    b.initOrt();
    if (typeof b.binding?.InferenceSession !== 'function') throw new Error('binding.InferenceSession is missing');
    ort = { Session: b.binding.InferenceSession, Tensor: common.Tensor, version: pkg.version };
  } catch (e) {
    loadError = e instanceof Error ? e.message : String(e);
  }
  return ort;
}

/** Whether onnxruntime-node's native binding loads here; `reason` says why not. */
export function ortAvailable(): { ok: true; version: string } | { ok: false; reason: string } {
  const o = load();
  return o ? { ok: true, version: o.version } : { ok: false, reason: loadError ?? 'unknown' };
}

/**
 * Intra-op threads for work that is worth splitting: all cores up to 4 (2 on the project's 2-core machines),
 * or RELML_ORT_THREADS. Small calls run single-threaded on the calling thread, which avoids the thread-pool
 * hand-off and keeps each cached session from owning idle worker threads.
 */
export const MAX_THREADS = Math.max(1, Number(process.env.RELML_ORT_THREADS) || Math.min(4, availableParallelism()));

/**
 * Whether multi-threaded sessions let their workers busy-wait between parallel sections (ORT's default).
 * Off unless RELML_ORT_SPIN=1: each cached session owns its own pool, and in a plan many sessions run one
 * after another, so spinning pools steal the cores from the next kernel. Measured on 2 cores: an MLP
 * 784-1024-1024-10 training step (batch 512) took 130 ms without spinning and 500 ms with it, and the
 * 784-256-10 step 9 ms against 16 ms; spinning only wins for one matmul alone (256..512: 1.4-1.8x).
 */
export const SPIN = process.env.RELML_ORT_SPIN === '1';

function sessionOptions(threads: number): object {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all', // lets ORT fuse Transpose+MatMul into FusedMatMul (transA/transB), etc.
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: SPIN && threads > 1 ? '1' : '0' } } },
    // RELML_ORT_PROFILE=<prefix>: onnxruntime writes per-node timings of each session to <prefix>_*.json.
    ...(process.env.RELML_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.RELML_ORT_PROFILE } : {}),
  };
}

export const ORT_TYPE: Record<DType, string> = { float32: 'float32', float64: 'float64' };

export interface OrtBuffer { data: TileData; dims: readonly number[]; dtype: DType }

/** A loaded model plus its I/O names, run synchronously. */
export class OrtSession {
  private readonly s: NativeSession;
  private readonly inputNames: string[];
  private readonly outputNames: string[];
  constructor(model: Uint8Array, threads: number) {
    const o = load();
    if (!o) throw new Error(`onnxruntime-node is unavailable: ${loadError}`);
    this.s = new o.Session();
    this.s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, sessionOptions(threads));
    this.inputNames = this.s.inputMetadata.map((m) => m.name);
    this.outputNames = this.s.outputMetadata.map((m) => m.name);
  }

  /**
   * Runs on the given buffers without copying them in (ORT reads the typed arrays' memory directly) and
   * writes straight into `out` (a pre-allocated output), so the only data movement is the kernel's own.
   */
  run(inputs: readonly OrtBuffer[], out: OrtBuffer): void { this.runAll(inputs, [out]); }

  /** The same with every graph output, in order, written into its pre-allocated buffer. */
  runAll(inputs: readonly OrtBuffer[], outs: readonly OrtBuffer[]): void {
    const T = ort!.Tensor;
    const feeds: Record<string, unknown> = {}, fetches: Record<string, unknown> = {};
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      feeds[this.inputNames[i]!] = new T(ORT_TYPE[x.dtype], x.data, x.dims);
    }
    for (let i = 0; i < outs.length; i++) fetches[this.outputNames[i]!] = new T(ORT_TYPE[outs[i]!.dtype], outs[i]!.data, outs[i]!.dims);
    this.s.run(feeds, fetches, {});
  }

  dispose(): void { this.s.dispose(); }
}
