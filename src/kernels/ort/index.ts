/**
 * The 'ort' kernel backend: onnxruntime-node's CPU kernels (MLAS matmul, vectorised elementwise ops),
 * driven synchronously. Importing this module registers it when onnxruntime-node loads; `ORT_STATUS`
 * says whether it did and why not.
 *
 * Each distinct call signature (kernel, attributes, input shapes and dtypes, output dtype) is lowered to a
 * tiny ONNX graph once (lower.ts), loaded into an InferenceSession, and cached; later calls only wrap the
 * tiles' typed arrays in tensors and run. Cases ORT is not given (empty tiles) or refuses (a graph it
 * cannot load) run on the reference implementation instead, per call signature. Kernels without an ORT
 * lowering (the derivative kernels, reshape, ...) are registered as the reference implementation, so a
 * plan runs whole on 'ort'; an unknown kernel name still fails in the registry.
 */
import { KernelError } from '../../errors.js';
import { allocData, makeTile, type DType, type Tile } from '../../tile.js';
import { REFERENCE } from '../reference/index.js';
import { kernelImpl, registerKernelImpl, setBackendFallback, type KernelImpl } from '../registry.js';
import { lowerCall, scalarInputs } from './lower.js';
import { parseTileSpec } from '../tile_spec.js';
import { MAX_THREADS, OrtSession, ortAvailable } from './session.js';

export const ORT = 'ort';
export { ortAvailable } from './session.js';

/** Kernels that have an ONNX lowering; every other kernel runs its reference implementation on 'ort'. */
export const ORT_KERNELS = ['einsum', 'unary', 'binary', 'reduce', 'softmax', 'logsumexp', 'unaryGrad', 'fused',
  'conv2d', 'conv2dGradInput', 'conv2dGradWeight', 'maxPool2d', 'maxPool2dGrad'] as const;

/**
 * Calls with at least this much work (multiply-adds or elements) get MAX_THREADS intra-op threads; below
 * it, a second thread did not pay for its hand-off (2-core machine: 128^3 matmul even, 256^3 1.4x faster).
 */
export const PARALLEL_WORK = 1 << 21;

/** Sessions kept at most; the least recently used one is disposed beyond this. */
const CACHE_LIMIT = 512;

/** OrtSession, or null: this signature runs on the reference backend. */
const cache = new Map<string, OrtSession | null>();
const fallbackReasons = new Map<string, string>();
const stats = { calls: 0, fallbacks: 0, compiles: 0, small: 0 };

/** Counters and the reasons for per-signature fallbacks, for tests and tuning. */
export function ortStats(): { calls: number; fallbacks: number; compiles: number; small: number; cached: number; fallbackReasons: ReadonlyMap<string, string> } {
  return { ...stats, cached: cache.size, fallbackReasons };
}

/** Disposes every cached session (e.g. at the end of a benchmark). */
export function clearOrtCache(): void {
  for (const s of cache.values()) s?.dispose();
  cache.clear();
  fallbackReasons.clear();
}

function signature(name: string, attrs: Readonly<Record<string, unknown>>, inputs: readonly Tile[], dtype: DType): string {
  // alpha is a runtime input of the graph (see lower.ts), so it is not part of the signature.
  const { alpha: _alpha, ...rest } = attrs;
  let key = `${name}|${JSON.stringify(name === 'unary' ? rest : attrs)}|${dtype}`;
  for (const t of inputs) key += `|${t.dtype}:${t.shape.join('x')}`;
  return key;
}

function compile(key: string, name: string, attrs: Readonly<Record<string, unknown>>, inputs: readonly Tile[], outShape: readonly number[], dtype: DType): OrtSession | null {
  const lowered = lowerCall(name, attrs, inputs.map((t) => t.shape), inputs.map((t) => t.dtype), outShape, dtype);
  if (!lowered) { fallbackReasons.set(key, 'no ONNX lowering for this case'); return null; }
  try {
    stats.compiles++;
    return new OrtSession(lowered.model, lowered.work >= PARALLEL_WORK ? MAX_THREADS : 1);
  } catch (e) {
    fallbackReasons.set(key, e instanceof Error ? e.message : String(e));
    return null;
  }
}

/**
 * Below this much work (multiply-adds for einsum, elements otherwise) a call runs on the reference kernel:
 * measured here, an ORT call costs 20-40 us whatever its size, which the reference beats up to about
 * 16x16x16 matmuls and 64x64 elementwise tiles.
 */
let smallWork = Number(process.env.RELML_ORT_SMALL_WORK ?? 4096);

/** Sets the small-call threshold (0 sends every call to ORT, as the conformance tests do). */
export function setOrtSmallWork(n: number): void { smallWork = n; }

function work(name: string, attrs: Readonly<Record<string, unknown>>, inputs: readonly Tile[], outShape: readonly number[]): number {
  if (name !== 'einsum') return Math.max(outShape.reduce((p, d) => p * d, 1), ...inputs.map((t) => t.data.length));
  const sizes = new Map<string, number>();
  parseTileSpec(attrs.spec as string).inputs.forEach((ls, i) => [...ls].forEach((c, d) => sizes.set(c, inputs[i]!.shape[d]!)));
  return [...sizes.values()].reduce((p, d) => p * d, 1);
}

function ortImpl(name: string): KernelImpl {
  const reference = kernelImpl(REFERENCE, name);
  return (inputs, attrs, outShape, dtype) => {
    if (smallWork > 0 && work(name, attrs, inputs, outShape) < smallWork) { stats.small++; return reference(inputs, attrs, outShape, dtype); }
    stats.calls++;
    const key = signature(name, attrs, inputs, dtype);
    let session = cache.get(key);
    if (session !== undefined) { cache.delete(key); cache.set(key, session); } // keep recently used ones last
    else {
      session = compile(key, name, attrs, inputs, outShape, dtype);
      if (cache.size >= CACHE_LIMIT) {
        const [oldKey, old] = cache.entries().next().value!;
        old?.dispose();
        cache.delete(oldKey);
      }
      cache.set(key, session);
    }
    if (session === null) { stats.fallbacks++; return reference(inputs, attrs, outShape, dtype); }
    const feeds = inputs.map((t) => ({ data: t.data, dims: t.shape, dtype: t.dtype }));
    for (const v of scalarInputs(name, attrs)) feeds.push({ data: allocData(dtype, 1).fill(v), dims: [], dtype });
    const data = allocData(dtype, outShape.reduce((p, d) => p * d, 1));
    try {
      session.run(feeds, { data, dims: outShape, dtype });
    } catch (e) {
      throw new KernelError(name, `onnxruntime failed: ${e instanceof Error ? e.message : String(e)}`, { backend: ORT });
    }
    return makeTile(outShape, dtype, data);
  };
}

export const ORT_STATUS = ortAvailable();

if (ORT_STATUS.ok) {
  // Kernels without an ONNX lowering (and any defined later) run their reference implementation.
  setBackendFallback(ORT, REFERENCE);
  for (const name of ORT_KERNELS) registerKernelImpl(ORT, name, ortImpl(name));
}
