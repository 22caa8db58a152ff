/**
 * The spmm row loop as WebAssembly SIMD, emitted here byte by byte (no toolchain): one module exporting
 *   spmm_f32(indptr, indices, vals, h, out, k, r0, r1)   and   spmm_f64(…the same…)
 * over an imported shared memory ('m' 'mem'), all arguments i32 byte addresses or counts. For rows
 * r0 ≤ i < r1 of a CSR matrix, out[i,:] = Σ v·h[j,:] over row i's nonzeros (j, v): columns are taken in
 * blocks of 8 vectors (32 float32 / 16 float64 columns) whose sums stay in registers while the row's
 * nonzeros stream past, then blocks of one vector, then single columns. Sums are in the tile's own type
 * (float32 like onnxruntime's MatMul and torch.sparse.mm). Measured on the GCN's graph (2.5M nonzeros,
 * k = 128, one core): ~0.2 s against ~0.7–0.9 s for the TypeScript loop in sparse.ts.
 *
 * Each row is computed by one call in one fixed order, so a row's result does not depend on how rows
 * are split between threads (spmm_pool.ts).
 */

const uleb = (n: number): number[] => { const o: number[] = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return o; };
const sleb = (n: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) { o.push(b); return o; }
    o.push(b | 0x80);
  }
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((c) => [c.charCodeAt(0)]));

const I32 = 0x7f, F32 = 0x7d, F64 = 0x7c, V128 = 0x7b;
const get = (l: number) => [0x20, ...uleb(l)], set = (l: number) => [0x21, ...uleb(l)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const ADD = [0x6a], MUL = [0x6c], SHL = [0x74], GT_S = [0x4a], GE_S = [0x4e];
const mem = (op: number[], align: number, off = 0) => [...op, align, ...uleb(off)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const block = (...body: number[][]) => [0x02, 0x40, ...body.flat(), 0x0b];
const loop = (...body: number[][]) => [0x03, 0x40, ...body.flat(), 0x0b];
const brIf = (depth: number) => [0x0d, ...uleb(depth)], br = (depth: number) => [0x0c, ...uleb(depth)];

/** The opcodes that differ between float32 and float64. */
interface ElemOps { type: number; shift: number; lanes: number; load: number; store: number; add: number; mul: number; zero: number[]; splat: number; vadd: number; vmul: number }
const F32_OPS: ElemOps = { type: F32, shift: 2, lanes: 4, load: 0x2a, store: 0x38, add: 0x92, mul: 0x94, zero: [0x43, 0, 0, 0, 0], splat: 0x13, vadd: 228, vmul: 230 };
const F64_OPS: ElemOps = { type: F64, shift: 3, lanes: 2, load: 0x2b, store: 0x39, add: 0xa0, mul: 0xa2, zero: [0x44, 0, 0, 0, 0, 0, 0, 0, 0], splat: 0x14, vadd: 240, vmul: 242 };

// Parameters, then locals: i32 scratch, one scalar sum, the splatted value and the vector sums.
const [INDPTR, INDICES, VALS, H, OUT, K, R0, R1] = [0, 1, 2, 3, 4, 5, 6, 7];
const [I, P, S, E, X, B, O] = [8, 9, 10, 11, 12, 13, 14];
const SUM = 15, V = 16, ACC = 17, BLOCK = 8;

function body(t: ElemOps): number[] {
  const elemAddr = (base: number, idx: number[]) => [...get(base), ...idx, ...i32(t.shift), ...SHL, ...ADD];
  // B = h + (indices[p]·k + x) · elem: the start of this block's columns in nonzero p's row of h.
  const rowOfH = [...get(H), ...get(INDICES), ...get(P), ...i32(2), ...SHL, ...ADD, ...mem([0x28], 2), ...get(K), ...MUL, ...get(X), ...ADD, ...i32(t.shift), ...SHL, ...ADD, ...set(B)];
  const nonzeros = (...each: number[][]) => [...get(S), ...set(P), ...block(loop(get(P), get(E), GE_S, brIf(1), ...each, get(P), i32(1), ADD, set(P), br(0)))];
  /** Blocks of `nv` vectors while a whole block still fits in k. */
  const vectorBlocks = (nv: number) => {
    const w = nv * t.lanes, accs = Array.from({ length: nv }, (_, j) => ACC + j);
    return block(loop(
      get(X), i32(w), ADD, get(K), GT_S, brIf(1),
      ...accs.map((a) => [...simd(0x0c), ...new Array<number>(16).fill(0), ...set(a)]),
      nonzeros(
        [...elemAddr(VALS, get(P)), ...mem([t.load], t.shift), ...simd(t.splat), ...set(V)],
        rowOfH,
        ...accs.map((a, j) => [...get(a), ...get(V), ...get(B), ...mem(simd(0x00), 4, 16 * j), ...simd(t.vmul), ...simd(t.vadd), ...set(a)])),
      [...get(O), ...get(X), ...i32(t.shift), ...SHL, ...ADD, ...set(B)],
      ...accs.map((a, j) => [...get(B), ...get(a), ...mem(simd(0x0b), 4, 16 * j)]),
      get(X), i32(w), ADD, set(X), br(0)));
  };
  const singleColumns = block(loop(
    get(X), get(K), GE_S, brIf(1),
    t.zero, set(SUM),
    nonzeros(
      [...get(SUM), ...elemAddr(VALS, get(P)), ...mem([t.load], t.shift)],
      rowOfH,
      [...get(B), ...mem([t.load], t.shift), t.mul, t.add, ...set(SUM)]),
    [...get(O), ...get(X), ...i32(t.shift), ...SHL, ...ADD, ...get(SUM), ...mem([t.store], t.shift)],
    get(X), i32(1), ADD, set(X), br(0)));
  const code = [
    ...get(R0), ...set(I),
    ...block(loop(
      get(I), get(R1), GE_S, brIf(1),
      [...get(INDPTR), ...get(I), ...i32(2), ...SHL, ...ADD, ...mem([0x28], 2, 0), ...set(S)],
      [...get(INDPTR), ...get(I), ...i32(2), ...SHL, ...ADD, ...mem([0x28], 2, 4), ...set(E)],
      [...get(OUT), ...get(I), ...get(K), ...MUL, ...i32(t.shift), ...SHL, ...ADD, ...set(O)],
      i32(0), set(X),
      vectorBlocks(BLOCK), vectorBlocks(1), singleColumns,
      get(I), i32(1), ADD, set(I), br(0))),
    0x0b,
  ];
  const locals = vec([[...uleb(O - I + 1), I32], [1, t.type], [...uleb(1 + BLOCK), V128]]);
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/** The module's bytes: type (8 × i32) → (), memory import (shared, ≤ 4 GiB), two functions, two exports. */
export function spmmWasmBytes(): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(8).fill([I32])), 0]])),
    ...section(2, vec([[...name('m'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(65536)]])),
    ...section(3, vec([[0], [0]])),
    ...section(7, vec([[...name('spmm_f32'), 0x00, 0], [...name('spmm_f64'), 0x00, 1]])),
    ...section(10, vec([body(F32_OPS), body(F64_OPS)])),
  ]);
}

export type SpmmWasmFn = (indptr: number, indices: number, vals: number, h: number, out: number, k: number, r0: number, r1: number) => void;

/** The slice of the WebAssembly API used here (the project compiles without the DOM library's declarations). */
export interface WasmMemory { readonly buffer: SharedArrayBuffer; grow(pages: number): number }
export type WasmModule = object;
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** Bytes in a WebAssembly page. */
export const PAGE = 65536;

let compiled: WasmModule | null | undefined;
/** The compiled module, or null where this runtime lacks WebAssembly SIMD or threads. */
export function spmmWasmModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = spmmWasmBytes();
      compiled = api?.validate(bytes) ? new api.Module(bytes) : null;
    } catch { compiled = null; }
  }
  return compiled;
}

/** A shared memory of `pages` pages that may grow to 4 GiB, or null where it cannot be reserved. */
export function sharedMemory(pages: number): WasmMemory | null {
  for (const maximum of [65536, 16384]) {
    try { return new api!.Memory({ initial: pages, maximum, shared: true }); } catch { /* try a smaller reservation */ }
  }
  return null;
}

export function instantiate(module: WasmModule, memory: WasmMemory): { f32: SpmmWasmFn; f64: SpmmWasmFn } {
  const e = new api!.Instance(module, { m: { mem: memory } }).exports as { spmm_f32: SpmmWasmFn; spmm_f64: SpmmWasmFn };
  return { f32: e.spmm_f32, f64: e.spmm_f64 };
}
