/**
 * Direct 2-d convolution and max pooling on whole-image tiles, with their derivative kernels:
 *   conv2d(x [N,C,H,W], w [O,C/groups,KH,KW])           -> y  [N,O,OH,OW]
 *   conv2dGradInput(g [N,O,OH,OW], w)                    -> dx [N,C,H,W]
 *   conv2dGradWeight(g [N,O,OH,OW], x)                   -> dw [O,C/groups,KH,KW]
 *   maxPool2d(x [...,H,W])                               -> [...,OH,OW]
 *   maxPool2dGrad(x, g [...,OH,OW])                      -> dx [...,H,W]
 * Attributes: stride [sh,sw], padding [ph,pw] (zeros for conv; never the max for pooling), groups, and for
 * the conv family the image [H,W] and kernel [KH,KW] sizes, so each derivative knows the shape it
 * produces (a strided conv maps several image sizes to one output size, as ONNX ConvTranspose's
 * output_shape says). These replace im2col + einsum on the fast path: one call per batch tile, and the
 * 'ort' backend runs them as ONNX Conv / ConvTranspose / MaxPool (ort/lower_conv.ts).
 *
 * The reference loops accumulate in JS doubles; ties in a max-pool window go to the first maximum in
 * row-major order (as onnxruntime's MaxPool), so the gradient is the same subgradient on every backend.
 */
import { KernelError } from '../errors.js';
import { makeTile, type DType, type Tile } from '../tile.js';
import { intAttr, intsAttr } from './attrs.js';
import { REFERENCE } from './reference/index.js';
import { defineKernel, registerKernelImpl, type DimSource } from './registry.js';

type Attrs = Readonly<Record<string, unknown>>;
type Shapes = readonly (readonly number[])[];

export interface ConvGeometry {
  N: number; C: number; H: number; W: number; O: number; G: number; KH: number; KW: number;
  sh: number; sw: number; ph: number; pw: number; OH: number; OW: number;
}

function pair(kernel: string, attrs: Attrs, key: string, min: number): [number, number] {
  const v = intsAttr(kernel, attrs, key);
  if (v.length !== 2 || v.some((x) => x < min)) throw new KernelError(kernel, `attribute '${key}' must be two integers >= ${min}, got [${v}]`);
  return [v[0]!, v[1]!];
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The geometry named by the attributes, with N taken from the batch tile; validates what the attributes say. */
export function convGeometry(kernel: string, attrs: Attrs, N: number): ConvGeometry {
  const [H, W] = pair(kernel, attrs, 'image', 1), [KH, KW] = pair(kernel, attrs, 'kernel', 1);
  const [sh, sw] = pair(kernel, attrs, 'stride', 1), [ph, pw] = pair(kernel, attrs, 'padding', 0);
  const G = intAttr(kernel, attrs, 'groups', 1), C = intAttr(kernel, attrs, 'channels'), O = intAttr(kernel, attrs, 'filters');
  if (G < 1 || C % G !== 0 || O % G !== 0) throw new KernelError(kernel, `groups = ${G} must divide both the ${C} input channels and the ${O} filters`);
  const OH = Math.floor((H + 2 * ph - KH) / sh) + 1, OW = Math.floor((W + 2 * pw - KW) / sw) + 1;
  if (OH < 1 || OW < 1) throw new KernelError(kernel, `kernel ${KH}x${KW} (padding ${ph},${pw}) does not fit an image of ${H}x${W}`, { H, W, KH, KW });
  return { N, C, H, W, O, G, KH, KW, sh, sw, ph, pw, OH, OW };
}

const imageShape = (c: ConvGeometry) => [c.N, c.C, c.H, c.W];
const weightShape = (c: ConvGeometry) => [c.O, c.C / c.G, c.KH, c.KW];
const outputShape = (c: ConvGeometry) => [c.N, c.O, c.OH, c.OW];

/** Checks tile `i` of a conv-family call against the shape the attributes imply. */
function expect(kernel: string, what: string, got: readonly number[], want: number[]): void {
  if (!same(got, want)) throw new KernelError(kernel, `${what} tile is [${got.join(',')}], expected [${want.join(',')}] from the attributes`, { got, want });
}

const fixed = (shape: number[]): DimSource[] => shape.map((size) => ({ size }));

defineKernel({
  name: 'conv2d', arity: 2,
  outDims: (s: Shapes, a) => {
    const c = convGeometry('conv2d', a, s[0]![0] ?? 0);
    expect('conv2d', 'image', s[0]!, imageShape(c)); expect('conv2d', 'weight', s[1]!, weightShape(c));
    return [{ input: 0, dim: 0 }, { input: 1, dim: 0 }, { size: c.OH }, { size: c.OW }];
  },
  describe: (a) => `conv2d(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)} g=${String(a.groups ?? 1)})`,
});
defineKernel({
  name: 'conv2dGradInput', arity: 2,
  outDims: (s: Shapes, a) => {
    const c = convGeometry('conv2dGradInput', a, s[0]![0] ?? 0);
    expect('conv2dGradInput', 'gradient', s[0]!, outputShape(c)); expect('conv2dGradInput', 'weight', s[1]!, weightShape(c));
    return [{ input: 0, dim: 0 }, ...fixed([c.C, c.H, c.W])];
  },
  describe: (a) => `d_conv2d/dx(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});
defineKernel({
  name: 'conv2dGradWeight', arity: 2,
  outDims: (s: Shapes, a) => {
    const c = convGeometry('conv2dGradWeight', a, s[0]![0] ?? 0);
    expect('conv2dGradWeight', 'gradient', s[0]!, outputShape(c)); expect('conv2dGradWeight', 'image', s[1]!, imageShape(c));
    return fixed(weightShape(c));
  },
  describe: (a) => `d_conv2d/dw(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});

// ---- reference loops: for each (image, filter) pair, each kernel tap adds a strided run of pixels ----

/** Output columns ox whose tap kx lands inside the image: [lo, hi). */
function columnRange(c: ConvGeometry, kx: number): [number, number] {
  const lo = Math.max(0, Math.ceil((c.pw - kx) / c.sw)), hi = Math.min(c.OW, Math.floor((c.W - 1 + c.pw - kx) / c.sw) + 1);
  return [lo, Math.max(lo, hi)];
}

type Visit = (xBase: number, wIdx: number, yBase: number, lo: number, hi: number, x0: number) => void;

/** Calls `visit` for every (n, o, c, ky, kx, oy) with the row offsets into x, w and y. */
function eachTapRow(c: ConvGeometry, visit: Visit): void {
  const Cg = c.C / c.G, Og = c.O / c.G;
  for (let n = 0; n < c.N; n++) for (let o = 0; o < c.O; o++) {
    const g = Math.floor(o / Og);
    for (let ci = 0; ci < Cg; ci++) {
      const ch = g * Cg + ci;
      for (let ky = 0; ky < c.KH; ky++) for (let kx = 0; kx < c.KW; kx++) {
        const [lo, hi] = columnRange(c, kx);
        if (lo >= hi) continue;
        const wIdx = ((o * Cg + ci) * c.KH + ky) * c.KW + kx;
        for (let oy = 0; oy < c.OH; oy++) {
          const y = oy * c.sh - c.ph + ky;
          if (y < 0 || y >= c.H) continue;
          visit(((n * c.C + ch) * c.H + y) * c.W, wIdx, ((n * c.O + o) * c.OH + oy) * c.OW, lo, hi, kx - c.pw);
        }
      }
    }
  }
}

function conv2dRef(x: Tile, w: Tile, a: Attrs, outShape: readonly number[], dt: DType): Tile {
  const c = convGeometry('conv2d', a, x.shape[0]!), out = makeTile(outShape, dt);
  const xd = x.data, wd = w.data, yd = out.data, s = c.sw;
  eachTapRow(c, (xb, wi, yb, lo, hi, x0) => { const wv = wd[wi]!; for (let ox = lo; ox < hi; ox++) yd[yb + ox] = yd[yb + ox]! + wv * xd[xb + ox * s + x0]!; });
  return out;
}

function conv2dGradInputRef(g: Tile, w: Tile, a: Attrs, outShape: readonly number[], dt: DType): Tile {
  const c = convGeometry('conv2dGradInput', a, g.shape[0]!), out = makeTile(outShape, dt);
  const gd = g.data, wd = w.data, dx = out.data, s = c.sw;
  eachTapRow(c, (xb, wi, yb, lo, hi, x0) => { const wv = wd[wi]!; for (let ox = lo; ox < hi; ox++) dx[xb + ox * s + x0] = dx[xb + ox * s + x0]! + wv * gd[yb + ox]!; });
  return out;
}

function conv2dGradWeightRef(g: Tile, x: Tile, a: Attrs, outShape: readonly number[], dt: DType): Tile {
  const c = convGeometry('conv2dGradWeight', a, g.shape[0]!), out = makeTile(outShape, dt);
  const gd = g.data, xd = x.data, dw = out.data, s = c.sw;
  eachTapRow(c, (xb, wi, yb, lo, hi, x0) => { let acc = 0; for (let ox = lo; ox < hi; ox++) acc += gd[yb + ox]! * xd[xb + ox * s + x0]!; dw[wi] = dw[wi]! + acc; });
  return out;
}

registerKernelImpl(REFERENCE, 'conv2d', (t, a, s, dt) => conv2dRef(t[0]!, t[1]!, a, s, dt));
registerKernelImpl(REFERENCE, 'conv2dGradInput', (t, a, s, dt) => conv2dGradInputRef(t[0]!, t[1]!, a, s, dt));
registerKernelImpl(REFERENCE, 'conv2dGradWeight', (t, a, s, dt) => conv2dGradWeightRef(t[0]!, t[1]!, a, s, dt));

// ---- max pooling ----

export interface PoolGeometry { L: number; H: number; W: number; kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; OH: number; OW: number }

export function poolGeometry(kernel: string, attrs: Attrs, shape: readonly number[]): PoolGeometry {
  if (shape.length < 2) throw new KernelError(kernel, `needs a tile of rank >= 2 ending in (H, W), got [${shape.join(',')}]`);
  const H = shape[shape.length - 2]!, W = shape[shape.length - 1]!, L = shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const [kh, kw] = pair(kernel, attrs, 'kernel', 1), [sh, sw] = pair(kernel, attrs, 'stride', 1), [ph, pw] = pair(kernel, attrs, 'padding', 0);
  // As PyTorch: with more padding than half a window, a window could hold padding only.
  if (2 * ph > kh || 2 * pw > kw) throw new KernelError(kernel, `padding ${ph},${pw} is more than half the window ${kh}x${kw}`);
  const OH = Math.floor((H + 2 * ph - kh) / sh) + 1, OW = Math.floor((W + 2 * pw - kw) / sw) + 1;
  if (OH < 1 || OW < 1) throw new KernelError(kernel, `window ${kh}x${kw} (padding ${ph},${pw}) does not fit an image of ${H}x${W}`, { H, W, kh, kw });
  return { L, H, W, kh, kw, sh, sw, ph, pw, OH, OW };
}

const lead = (shape: readonly number[]): DimSource[] => shape.slice(0, -2).map((_, dim) => ({ input: 0, dim }));

defineKernel({
  name: 'maxPool2d', arity: 1,
  outDims: (s, a) => { const p = poolGeometry('maxPool2d', a, s[0]!); return [...lead(s[0]!), { size: p.OH }, { size: p.OW }]; },
  describe: (a) => `max_pool2d(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});
defineKernel({
  name: 'maxPool2dGrad', arity: 2,
  outDims: (s, a) => {
    const p = poolGeometry('maxPool2dGrad', a, s[0]!), want = [...s[0]!.slice(0, -2), p.OH, p.OW];
    if (!same(s[1]!, want)) throw new KernelError('maxPool2dGrad', `gradient tile [${s[1]!.join(',')}] should be [${want.join(',')}]`);
    return s[0]!.map((_, dim) => ({ input: 0, dim }));
  },
  describe: (a) => `d_max_pool2d(k=${String(a.kernel)} s=${String(a.stride)} p=${String(a.padding)})`,
});

/** Calls `at(outIndex, argmaxIndex)` for every output pixel: the first maximum of its window, row-major. */
function eachWindowMax(x: Tile, p: PoolGeometry, at: (o: number, i: number) => void): void {
  const d = x.data;
  for (let l = 0; l < p.L; l++) for (let oy = 0; oy < p.OH; oy++) {
    const y0 = oy * p.sh - p.ph, y1 = Math.min(p.H, y0 + p.kh);
    for (let ox = 0; ox < p.OW; ox++) {
      const x0 = ox * p.sw - p.pw, x1 = Math.min(p.W, x0 + p.kw);
      let best = -1, m = -Infinity;
      for (let y = Math.max(0, y0); y < y1; y++) {
        const row = (l * p.H + y) * p.W;
        for (let xx = Math.max(0, x0); xx < x1; xx++) if (d[row + xx]! > m || best < 0) { m = d[row + xx]!; best = row + xx; }
      }
      at((l * p.OH + oy) * p.OW + ox, best);
    }
  }
}

registerKernelImpl(REFERENCE, 'maxPool2d', (t, a, s, dt) => {
  const x = t[0]!, out = makeTile(s, dt), o = out.data, d = x.data;
  eachWindowMax(x, poolGeometry('maxPool2d', a, x.shape), (k, i) => { o[k] = d[i]!; });
  return out;
});
registerKernelImpl(REFERENCE, 'maxPool2dGrad', (t, a, s, dt) => {
  const [x, g] = t as [Tile, Tile], out = makeTile(s, dt), o = out.data, gd = g.data;
  eachWindowMax(x, poolGeometry('maxPool2dGrad', a, x.shape), (k, i) => { o[i] = o[i]! + gd[k]!; });
  return out;
});
