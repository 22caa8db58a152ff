/**
 * ONNX graphs for the convolution family (kernels/conv2d.ts):
 * - conv2d: Conv.
 * - conv2dGradInput: ConvTranspose with the forward weight (its [O, C/groups, KH, KW] layout is exactly
 *   ConvTranspose's [in, out/groups, KH, KW]); output_padding restores the image rows a strided conv
 *   dropped.
 * - conv2dGradWeight: dw[o,c,i,j] = sum_{n,p,q} g[n,o,p,q] x[n,c,p*s+i-pad,q*s+j-pad] is itself a
 *   convolution of the image with the gradient as the filter once batch and channels swap places: Conv of
 *   x^T [C, N, H, W] with g^T [O, N, OH, OW], dilated by the stride, gives [C, O, >=KH, >=KW]; slice to the
 *   kernel and transpose back. Groups convolve their channel slices separately and concatenate.
 * - maxPool2d: MaxPool over the leading dims as channels.
 * - maxPool2dGrad: MaxPool's second output is each window's argmax as a flat index into the image; the
 *   gradient is g scatter-added there (ScatterElements, reduction add, onto zeros), so overlapping
 *   windows sum (MaxUnpool's store when windows are disjoint). onnxruntime's MaxPool keeps the first maximum of a window, as the reference does.
 * float64 convolutions stay on the reference loops (no double Conv on onnxruntime's CPU provider).
 */
import type { DType } from '../../tile.js';
import { convGeometry, poolGeometry } from '../conv2d.js';
import type { GraphBuilder, Lowered } from './lower.js';
import { ONNX_DOUBLE } from './proto.js';

type Attrs = Readonly<Record<string, unknown>>;
const prod = (xs: readonly number[]): number => xs.reduce((p, d) => p * d, 1);

export function lowerConvFamily(g: GraphBuilder, name: string, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered | undefined {
  if (name === 'maxPool2d' || name === 'maxPool2dGrad') {
    const p = poolGeometry(name, attrs, shapes[0]!), n = p.L * p.H * p.W;
    const x = g.reshape(g.input(dtypes[0]!, shapes[0]!), shapes[0]!, [1, p.L, p.H, p.W]);
    const pool = { kernel_shape: [p.kh, p.kw], strides: [p.sh, p.sw], pads: [p.ph, p.pw, p.ph, p.pw] };
    if (name === 'maxPool2d') {
      const y = g.op('MaxPool', [x], pool);
      return { model: g.finish(g.reshape(y, [1, p.L, p.OH, p.OW], outShape), outShape), work: prod(shapes[0]!) };
    }
    const [, at] = g.ops('MaxPool', [x], 2, pool) as [string, string];
    if (p.sh >= p.kh && p.sw >= p.kw && g.dtype === 'float32') {
      // Disjoint windows: each image pixel is some window's argmax at most once, so MaxUnpool's plain
      // store is the scatter-add (and much faster than ScatterElements; float32 only on the CPU provider).
      const grad = g.reshape(g.input(dtypes[1]!, shapes[1]!), shapes[1]!, [1, p.L, p.OH, p.OW]);
      const dx = g.op('MaxUnpool', [grad, at, g.int64s([1, p.L, p.H, p.W])], pool);
      return { model: g.finish(g.reshape(dx, [1, p.L, p.H, p.W], outShape), outShape), work: n };
    }
    const flatAt = g.reshape(at, [1, p.L, p.OH, p.OW], [p.L * p.OH * p.OW]);
    const grad = g.reshape(g.input(dtypes[1]!, shapes[1]!), shapes[1]!, [p.L * p.OH * p.OW]);
    // ConstantOfShape without a value is float32 zeros.
    let zeros = g.op('ConstantOfShape', [g.int64s([n])]);
    if (g.dtype !== 'float32') zeros = g.op('Cast', [zeros], { to: ONNX_DOUBLE });
    const dx = g.op('ScatterElements', [zeros, flatAt, grad], { axis: 0, reduction: 'add' });
    return { model: g.finish(g.reshape(dx, [n], outShape), outShape), work: n };
  }
  // onnxruntime's CPU provider implements Conv and ConvTranspose for float32 only.
  if (g.dtype !== 'float32') return undefined;
  const c = convGeometry(name, attrs, shapes[0]![0]!);
  const pads = [c.ph, c.pw, c.ph, c.pw];
  const work = c.N * c.O * (c.C / c.G) * c.KH * c.KW * c.OH * c.OW;
  const a = g.input(dtypes[0]!, shapes[0]!), b = g.input(dtypes[1]!, shapes[1]!);
  if (name === 'conv2d') {
    const y = g.op('Conv', [a, b], { kernel_shape: [c.KH, c.KW], strides: [c.sh, c.sw], pads, group: c.G });
    return { model: g.finish(y, outShape), work };
  }
  if (name === 'conv2dGradInput') {
    const extra = [c.H + 2 * c.ph - c.KH - (c.OH - 1) * c.sh, c.W + 2 * c.pw - c.KW - (c.OW - 1) * c.sw];
    const y = g.op('ConvTranspose', [a, b], { kernel_shape: [c.KH, c.KW], strides: [c.sh, c.sw], pads, group: c.G, output_padding: extra });
    return { model: g.finish(y, outShape), work };
  }
  // conv2dGradWeight(g, x)
  const gT = g.transpose(a, [1, 0, 2, 3]), xT = g.transpose(b, [1, 0, 2, 3]);
  const Cg = c.C / c.G, Og = c.O / c.G;
  const span = [c.H + 2 * c.ph - (c.OH - 1) * c.sh, c.W + 2 * c.pw - (c.OW - 1) * c.sw];
  const slice = (v: string, axis: number, from: number, to: number) => g.op('Slice', [v, g.int64s([from]), g.int64s([to]), g.int64s([axis])]);
  const parts: string[] = [];
  for (let k = 0; k < c.G; k++) {
    const xs = c.G === 1 ? xT : slice(xT, 0, k * Cg, (k + 1) * Cg), gs = c.G === 1 ? gT : slice(gT, 0, k * Og, (k + 1) * Og);
    let d = g.op('Conv', [xs, gs], { kernel_shape: [c.OH, c.OW], dilations: [c.sh, c.sw], pads });
    if (span[0] !== c.KH) d = slice(d, 2, 0, c.KH);
    if (span[1] !== c.KW) d = slice(d, 3, 0, c.KW);
    parts.push(d);
  }
  const all = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: 1 });
  return { model: g.finish(g.transpose(all, [1, 0, 2, 3]), outShape), work };
}
