/**
 * The kernel contract (in the spirit of tfjs' kernel_names + registry): a kernel has a name, an arity and
 * typed attributes, and states where each output dimension's size comes from. Backends register
 * implementations by name; asking for a kernel a backend lacks fails loudly with both names.
 */
import { KernelError } from '../errors.js';
import type { DType, Tile } from '../tile.js';

/** A kernel applied in a plan: plain data, JSON-serialisable. */
export interface KernelCall {
  readonly name: string;
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** Where an output dimension's size comes from: an input tile's dimension, or a fixed size. */
export type DimSource = { readonly input: number; readonly dim: number } | { readonly size: number };

export interface KernelDef {
  readonly name: string;
  /** Number of input tiles; -1 when it depends on the attributes (einsum). */
  readonly arity: number;
  /** Validates attributes and input shapes (throwing KernelError) and gives each output dim's source. */
  outDims(shapes: readonly (readonly number[])[], attrs: Readonly<Record<string, unknown>>): DimSource[];
  /** Input positions that take sparse (CSR) tiles; every other input must be dense. */
  readonly sparseInputs?: readonly number[];
  /** One-line description for explain(). */
  describe(attrs: Readonly<Record<string, unknown>>): string;
}

export type KernelImpl = (inputs: readonly Tile[], attrs: Readonly<Record<string, unknown>>, outShape: readonly number[], dtype: DType) => Tile;

const defs = new Map<string, KernelDef>();
const backends = new Map<string, Map<string, KernelImpl>>();

export function defineKernel(def: KernelDef): void {
  if (defs.has(def.name)) throw new KernelError(def.name, 'defined twice');
  defs.set(def.name, def);
}

export function kernelDef(name: string): KernelDef {
  const d = defs.get(name);
  if (!d) throw new KernelError(name, `unknown kernel (known: ${[...defs.keys()].sort().join(', ')})`);
  return d;
}

export function kernelNames(): string[] {
  return [...defs.keys()].sort();
}

export function registerKernelImpl(backend: string, name: string, impl: KernelImpl): void {
  kernelDef(name);
  let b = backends.get(backend);
  if (!b) backends.set(backend, (b = new Map()));
  b.set(name, impl);
}

const fallbacks = new Map<string, string>();

/**
 * Kernels `backend` does not implement run on `fallback` (e.g. 'ort' -> 'reference'), looked up at call
 * time, so kernels defined after the backend loaded are covered too. A kernel neither has still fails.
 */
export function setBackendFallback(backend: string, fallback: string): void {
  fallbacks.set(backend, fallback);
  if (!backends.has(backend)) backends.set(backend, new Map());
}

function findImpl(backend: string, name: string): KernelImpl | undefined {
  for (let b: string | undefined = backend, hops = 0; b !== undefined && hops < 8; b = fallbacks.get(b), hops++) {
    const impl = backends.get(b)?.get(name);
    if (impl) return impl;
  }
  return undefined;
}

export function hasKernelImpl(backend: string, name: string): boolean {
  return findImpl(backend, name) !== undefined;
}

export function kernelImpl(backend: string, name: string): KernelImpl {
  const impl = findImpl(backend, name);
  if (!impl) throw new KernelError(name, `no implementation on backend '${backend}'${fallbacks.has(backend) ? ` or its fallback '${fallbacks.get(backend)}'` : ''}`, { backend });
  return impl;
}

export function backendNames(): string[] {
  return [...backends.keys()];
}

/** Resolves the output shape of a call on concrete input shapes (validating them). */
export function outShape(call: KernelCall, shapes: readonly (readonly number[])[]): number[] {
  const def = kernelDef(call.name);
  if (def.arity >= 0 && shapes.length !== def.arity) throw new KernelError(call.name, `takes ${def.arity} tile(s), got ${shapes.length}`);
  return def.outDims(shapes, call.attrs).map((s) => ('size' in s ? s.size : shapes[s.input]![s.dim]!));
}

/** Runs a kernel call on a backend, checking the implementation returned the promised shape. */
export function applyKernel(backend: string, call: KernelCall, inputs: readonly Tile[], dtype: DType): Tile {
  const shape = outShape(call, inputs.map((t) => t.shape));
  const sparseOk = kernelDef(call.name).sparseInputs;
  inputs.forEach((t, i) => {
    if (t.csr && !sparseOk?.includes(i)) throw new KernelError(call.name, `input ${i} is a sparse (CSR) tile, but this kernel reads dense tiles only (sparse operands go through spmm)`, { backend, input: i });
  });
  const out = kernelImpl(backend, call.name)(inputs, call.attrs, shape, dtype);
  if (out.shape.length !== shape.length || out.shape.some((d, i) => d !== shape[i])) {
    throw new KernelError(call.name, `backend '${backend}' returned shape [${out.shape.join(',')}], expected [${shape.join(',')}]`, { backend });
  }
  return out;
}

export function describeCall(call: KernelCall): string {
  return kernelDef(call.name).describe(call.attrs);
}
