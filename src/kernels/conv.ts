/**
 * Image-to-columns for convolution and pooling. im2col maps a tile [...lead, H, W] to
 * [...lead, OH, OW, KH*KW]: every output pixel's receptive field laid out on the last axis, so a conv is
 * an einsum with the weight and a pool is a reduction. Out-of-image taps read `fill` (0 for conv and
 * average pooling; a very negative finite number for max pooling, so padding never wins — a non-finite
 * fill would trip the executors' finiteness checks). col2im (x, g) -> dx scatters-adds columns back.
 */
import { KernelError } from '../errors.js';
import { makeTile, type DType, type Tile } from '../tile.js';
import { intsAttr, numAttr } from './attrs.js';
import { REFERENCE } from './reference/index.js';
import { defineKernel, registerKernelImpl, type DimSource } from './registry.js';

type Attrs = Readonly<Record<string, unknown>>;
export interface Window { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; oh: number; ow: number }

/** Validates the window attributes against an image of H x W and gives the output size. */
export function windowOf(kernel: string, attrs: Attrs, H: number, W: number): Window {
  const [kh, kw] = pair(kernel, attrs, 'kernel', 1), [sh, sw] = pair(kernel, attrs, 'stride', 1), [ph, pw] = pair(kernel, attrs, 'padding', 0);
  const oh = Math.floor((H + 2 * ph - kh) / sh) + 1, ow = Math.floor((W + 2 * pw - kw) / sw) + 1;
  if (oh < 1 || ow < 1) throw new KernelError(kernel, `window ${kh}x${kw} (padding ${ph},${pw}) does not fit an image of ${H}x${W}`, { H, W, kh, kw });
  return { kh, kw, sh, sw, ph, pw, oh, ow };
}

function pair(kernel: string, attrs: Attrs, key: string, min: number): [number, number] {
  const v = intsAttr(kernel, attrs, key);
  if (v.length !== 2 || v.some((x) => !Number.isInteger(x) || x < min)) throw new KernelError(kernel, `attribute '${key}' must be two integers >= ${min}, got [${v}]`);
  return [v[0]!, v[1]!];
}

function imageDims(kernel: string, shape: readonly number[]): [number, number, number] {
  if (shape.length < 2) throw new KernelError(kernel, `needs a tile of rank >= 2 ending in (H, W), got [${shape.join(',')}]`);
  const H = shape[shape.length - 2]!, W = shape[shape.length - 1]!;
  return [shape.slice(0, -2).reduce((p, q) => p * q, 1), H, W];
}

defineKernel({
  name: 'im2col', arity: 1,
  outDims: (s, a) => {
    const x = s[0]!, [, H, W] = imageDims('im2col', x), w = windowOf('im2col', a, H, W);
    numAttr('im2col', a, 'fill', 0);
    const lead: DimSource[] = x.slice(0, -2).map((_, dim) => ({ input: 0, dim }));
    return [...lead, { size: w.oh }, { size: w.ow }, { size: w.kh * w.kw }];
  },
  describe: (a) => `im2col(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});
defineKernel({
  name: 'col2im', arity: 2,
  outDims: (s, a) => {
    const [x, g] = s as [number[], number[]], [, H, W] = imageDims('col2im', x), w = windowOf('col2im', a, H, W);
    const want = [...x.slice(0, -2), w.oh, w.ow, w.kh * w.kw];
    if (g.length !== want.length || g.some((d, i) => d !== want[i])) throw new KernelError('col2im', `gradient tile [${g}] should be [${want}]`);
    return x.map((_, dim) => ({ input: 0, dim }));
  },
  describe: (a) => `col2im(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});

// im2col and col2im walk the same windows; each kernel row is a contiguous run of image pixels
// [kx0, kx1) with padding on either side. The loops are written out (no callbacks) because they are the
// hot path of convolution and pooling on the CPU.

function im2colTile(x: Tile, a: Attrs, outShape: readonly number[], dt: DType): Tile {
  const [lead, H, W] = imageDims('im2col', x.shape), w = windowOf('im2col', a, H, W), fill = numAttr('im2col', a, 'fill', 0);
  const out = makeTile(outShape, dt);
  const o = out.data, d = x.data, { kh, kw, sh, sw, ph, pw, oh, ow } = w, K = kh * kw;
  for (let l = 0; l < lead; l++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const base = ((l * oh + oy) * ow + ox) * K, x0 = ox * sw - pw;
    const kx0 = Math.max(0, -x0), kx1 = Math.min(kw, W - x0);
    for (let ky = 0; ky < kh; ky++) {
      const y = oy * sh - ph + ky, col = base + ky * kw;
      if (y < 0 || y >= H || kx0 >= kx1) { o.fill(fill, col, col + kw); continue; }
      const src = (l * H + y) * W + x0;
      for (let k = 0; k < kx0; k++) o[col + k] = fill;
      for (let k = kx0; k < kx1; k++) o[col + k] = d[src + k]!;
      for (let k = kx1; k < kw; k++) o[col + k] = fill;
    }
  }
  return out;
}

function col2imTile(x: Tile, g: Tile, a: Attrs, dt: DType): Tile {
  const [lead, H, W] = imageDims('col2im', x.shape), w = windowOf('col2im', a, H, W);
  const out = makeTile(x.shape, dt);
  const o = out.data, gd = g.data, { kh, kw, sh, sw, ph, pw, oh, ow } = w, K = kh * kw;
  for (let l = 0; l < lead; l++) for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) {
    const base = ((l * oh + oy) * ow + ox) * K, x0 = ox * sw - pw;
    const kx0 = Math.max(0, -x0), kx1 = Math.min(kw, W - x0);
    for (let ky = 0; ky < kh; ky++) {
      const y = oy * sh - ph + ky;
      if (y < 0 || y >= H) continue;
      const col = base + ky * kw, src = (l * H + y) * W + x0;
      for (let k = kx0; k < kx1; k++) o[src + k] = o[src + k]! + gd[col + k]!;
    }
  }
  return out;
}

registerKernelImpl(REFERENCE, 'im2col', (t, a, s, dt) => im2colTile(t[0]!, a, s, dt));
registerKernelImpl(REFERENCE, 'col2im', (t, a, _s, dt) => col2imTile(t[0]!, t[1]!, a, dt));
