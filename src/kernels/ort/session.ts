/**
 * onnxruntime-node, used synchronously. The package's public `InferenceSession.create/run` return promises,
 * but they are thin wrappers (lib/backend.ts) that call a *synchronous* native binding inside setImmediate.
 * The kernel contract is synchronous, so we load that binding directly (`onnxruntime-node/dist/binding.js`,
 * which also performs the one-time native init) and call `loadModel` / `run` on it: same native code, no
 * promise, no event-loop hop. This relies on a package-internal module, so everything here is feature-
 * detected: if the binding cannot be loaded, `ortAvailable()` says why and the 'ort' backend is not used.
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

function sessionOptions(threads: number): object {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all', // lets ORT fuse Transpose+MatMul into FusedMatMul (transA/transB), etc.
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    // Do not busy-spin worker threads after each run: the JS thread shares the same few cores.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export const ORT_TYPE: Record<DType, string> = { float32: 'float32', float64: 'float64' };

/** A loaded model plus its I/O names, run synchronously. */
export class OrtSession {
  private readonly s: NativeSession;
  private readonly inputNames: string[];
  private readonly outputName: string;
  constructor(model: Uint8Array, threads: number) {
    const o = load();
    if (!o) throw new Error(`onnxruntime-node is unavailable: ${loadError}`);
    this.s = new o.Session();
    this.s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, sessionOptions(threads));
    this.inputNames = this.s.inputMetadata.map((m) => m.name);
    this.outputName = this.s.outputMetadata[0]!.name;
  }

  /**
   * Runs on the given buffers without copying them in (ORT reads the typed arrays' memory directly) and
   * writes straight into `out` (a pre-allocated output), so the only data movement is the kernel's own.
   */
  run(inputs: readonly { data: TileData; dims: readonly number[]; dtype: DType }[], out: { data: TileData; dims: readonly number[]; dtype: DType }): void {
    const T = ort!.Tensor;
    const feeds: Record<string, unknown> = {};
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      feeds[this.inputNames[i]!] = new T(ORT_TYPE[x.dtype], x.data, x.dims);
    }
    this.s.run(feeds, { [this.outputName]: new T(ORT_TYPE[out.dtype], out.data, out.dims) }, {});
  }

  dispose(): void { this.s.dispose(); }
}
