/** Reference reductions along axes, softmax/logsumexp along one axis, and their derivatives. */
import { allocData, makeTile, stridesOf, type DType, type Tile } from '../../tile.js';
import { dot, forEachIndex } from './strided.js';

type Attrs = Readonly<Record<string, unknown>>;

/** Maps every index of x to the offset of its reduced cell (reduced axes dropped). */
function reducedStrides(shape: readonly number[], axes: readonly number[]): number[] {
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptStr = stridesOf(kept.map((d) => shape[d]!));
  const s = new Array<number>(shape.length).fill(0);
  kept.forEach((d, i) => { s[d] = keptStr[i]!; });
  return s;
}

/** When the reduced axes are the trailing ones, each output cell reduces one contiguous run of `run` elements. */
function trailingRun(shape: readonly number[], axes: readonly number[]): number | null {
  const r = shape.length, m = axes.length;
  if (!axes.every((a) => a >= r - m)) return null;
  return shape.slice(r - m).reduce((p, d) => p * d, 1);
}

export function reduceTile(x: Tile, attrs: Attrs, outShape: readonly number[], dtype: DType): Tile {
  const axes = attrs.axes as number[];
  const fn = attrs.fn as 'sum' | 'max' | 'min';
  const n = outShape.reduce((p, d) => p * d, 1);
  const acc = new Float64Array(n).fill(fn === 'sum' ? 0 : fn === 'max' ? -Infinity : Infinity);
  const run = trailingRun(x.shape, axes);
  if (run !== null && run > 0) {
    const d = x.data;
    for (let o = 0; o < n; o++) {
      let a = acc[o]!;
      const end = (o + 1) * run;
      if (fn === 'sum') for (let i = o * run; i < end; i++) a += d[i]!;
      else if (fn === 'max') for (let i = o * run; i < end; i++) { const v = d[i]!; if (v > a || v !== v) a = v; }
      else for (let i = o * run; i < end; i++) { const v = d[i]!; if (v < a || v !== v) a = v; }
      acc[o] = a;
    }
    return makeTile(outShape, dtype, dtype === 'float64' ? acc : Float32Array.from(acc));
  }
  const rs = reducedStrides(x.shape, axes);
  let i = 0;
  forEachIndex(x.shape, (idx) => {
    const o = dot(idx, rs), v = x.data[i++]!;
    if (fn === 'sum') acc[o]! += v;
    else if (fn === 'max' ? v > acc[o]! : v < acc[o]!) acc[o] = v;
    else if (Number.isNaN(v)) acc[o] = v;
  });
  return makeTile(outShape, dtype, dtype === 'float64' ? acc : Float32Array.from(acc));
}

export function reduceGradTile(x: Tile, g: Tile, attrs: Attrs, dtype: DType): Tile {
  const axes = attrs.axes as number[];
  const fn = attrs.fn as 'sum' | 'max' | 'min';
  const out = allocData(dtype, x.data.length);
  const m = fn === 'sum' ? undefined : reduceTile(x, attrs, g.shape, 'float64');
  const run = trailingRun(x.shape, axes);
  if (run !== null && run > 0) {
    const xd = x.data, gd = g.data;
    for (let o = 0; o < gd.length; o++) {
      const gv = gd[o]!, mv = m?.data[o];
      for (let i = o * run, end = i + run; i < end; i++) out[i] = m === undefined || xd[i] === mv ? gv : 0;
    }
    return makeTile(x.shape, dtype, out);
  }
  const rs = reducedStrides(x.shape, axes);
  let i = 0;
  forEachIndex(x.shape, (idx) => {
    const o = dot(idx, rs);
    // max/min: every element equal to the extreme receives the gradient (ties are measure-zero in practice).
    out[i] = m === undefined || x.data[i] === m.data[o] ? g.data[o]! : 0;
    i++;
  });
  return makeTile(x.shape, dtype, out);
}

/** Views a shape as [outer, n, inner] around `axis`. */
function around(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return [outer, shape[axis]!, inner];
}

function softmaxInto(x: ArrayLike<number>, out: { [i: number]: number }, outer: number, n: number, inner: number): void {
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const base = o * n * inner + j;
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x[base + k * inner]!);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(x[base + k * inner]! - m);
    for (let k = 0; k < n; k++) out[base + k * inner] = Math.exp(x[base + k * inner]! - m) / s;
  }
}

export function softmaxTile(x: Tile, attrs: Attrs, dtype: DType): Tile {
  const [outer, n, inner] = around(x.shape, attrs.axis as number);
  const out = allocData(dtype, x.data.length);
  softmaxInto(x.data, out, outer, n, inner);
  return makeTile(x.shape, dtype, out);
}

export function softmaxGradTile(x: Tile, g: Tile, attrs: Attrs, dtype: DType): Tile {
  const [outer, n, inner] = around(x.shape, attrs.axis as number);
  const y = new Float64Array(x.data.length);
  softmaxInto(x.data, y, outer, n, inner);
  const out = allocData(dtype, x.data.length);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const base = o * n * inner + j;
    let s = 0;
    for (let k = 0; k < n; k++) s += g.data[base + k * inner]! * y[base + k * inner]!;
    for (let k = 0; k < n; k++) out[base + k * inner] = y[base + k * inner]! * (g.data[base + k * inner]! - s);
  }
  return makeTile(x.shape, dtype, out);
}

export function logsumexpTile(x: Tile, attrs: Attrs, outShape: readonly number[], dtype: DType): Tile {
  const [outer, n, inner] = around(x.shape, attrs.axis as number);
  const out = allocData(dtype, outer * inner);
  for (let o = 0; o < outer; o++) for (let j = 0; j < inner; j++) {
    const base = o * n * inner + j;
    let m = -Infinity;
    for (let k = 0; k < n; k++) m = Math.max(m, x.data[base + k * inner]!);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(x.data[base + k * inner]! - m);
    out[o * inner + j] = m === -Infinity ? -Infinity : m + Math.log(s);
  }
  return makeTile(outShape, dtype, out);
}

export function logsumexpGradTile(x: Tile, g: Tile, attrs: Attrs, dtype: DType): Tile {
  const [outer, n, inner] = around(x.shape, attrs.axis as number);
  const y = new Float64Array(x.data.length);
  softmaxInto(x.data, y, outer, n, inner);
  const out = allocData(dtype, x.data.length);
  for (let o = 0; o < outer; o++) for (let k = 0; k < n; k++) for (let j = 0; j < inner; j++) {
    const i = (o * n + k) * inner + j;
    out[i] = y[i]! * g.data[o * inner + j]!;
  }
  return makeTile(x.shape, dtype, out);
}


