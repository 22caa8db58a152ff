/**
 * ONNX graphs for the convolution family (kernels/conv2d.ts):
 * - conv2d: Conv.
 * - conv2dGradInput: ConvTranspose with the forward weight (its [O, C/groups, KH, KW] layout is exactly
 *   ConvTranspose's [in, out/groups, KH, KW]); output_padding restores the image rows a strided conv
 *   dropped.
 * - conv2dGradWeight: dw[o,c,i,j] = sum_{n,p,q} g[n,o,p,q] x[n,c,p*s+i-pad,q*s+j-pad] is one GEMM per
 *   group: the gradient as [O, N*OH*OW] times the image's columns, built from one strided Slice per kernel
 *   tap of the channel-major padded image. (Written as a Conv of x^T with g^T as the filter it is the same
 *   arithmetic, but onnxruntime runs that as GEMMs with 9 columns: 3x slower here for the CNN's conv2.)
 * - maxPool2d: MaxPool over the leading dims as channels.
 * - maxPool2dGrad: MaxPool's second output is each window's argmax as a flat index into the image; the
 *   gradient is g scatter-added there (ScatterElements, reduction add, onto zeros), so overlapping
 *   windows sum (MaxUnpool's store when windows are disjoint). onnxruntime's MaxPool keeps the first
 *   maximum of a window, as the reference does.
 * float64 convolutions stay on the reference loops (no double Conv on onnxruntime's CPU provider).
 */
import { sizeOf, type DType } from '../../tile.js';
import { convGeometry, poolGeometry } from '../conv2d.js';
import type { GraphBuilder, Lowered } from './lower.js';

type Attrs = Readonly<Record<string, unknown>>;

export function lowerConvFamily(g: GraphBuilder, name: string, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered | undefined {
  if (name === 'maxPool2d' || name === 'maxPool2dGrad') {
    const p = poolGeometry(name, attrs, shapes[0]!), n = p.L * p.H * p.W;
    const x = g.reshape(g.input(dtypes[0]!, shapes[0]!), shapes[0]!, [1, p.L, p.H, p.W]);
    const pool = { kernel_shape: [p.kh, p.kw], strides: [p.sh, p.sw], pads: [p.ph, p.pw, p.ph, p.pw] };
    if (name === 'maxPool2d') {
      const y = g.op('MaxPool', [x], pool);
      return { model: g.finish(g.reshape(y, [1, p.L, p.OH, p.OW], outShape), outShape), work: sizeOf(shapes[0]!) };
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
    if (g.dtype !== 'float32') zeros = g.cast(zeros);
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
  // conv2dGradWeight(g, x): per group, one GEMM of the gradient [Og, N*OH*OW] with the image's columns
  // [KH*KW*Cg, N*OH*OW] (each kernel tap is one strided slice of the channel-major, padded image).
  const Cg = c.C / c.G, Og = c.O / c.G, P = c.N * c.OH * c.OW;
  const gT = g.reshape(g.transpose(a, [1, 0, 2, 3]), [c.O, c.N, c.OH, c.OW], [c.O, P]);
  let xT = g.transpose(b, [1, 0, 2, 3]);
  if (c.ph || c.pw) xT = g.op('Pad', [xT, g.int64s([0, 0, c.ph, c.pw, 0, 0, c.ph, c.pw])]);
  const parts: string[] = [];
  for (let k = 0; k < c.G; k++) {
    const taps: string[] = [];
    for (let i = 0; i < c.KH; i++) for (let j = 0; j < c.KW; j++) {
      const tap = g.op('Slice', [xT, g.int64s([k * Cg, i, j]), g.int64s([(k + 1) * Cg, i + (c.OH - 1) * c.sh + 1, j + (c.OW - 1) * c.sw + 1]), g.int64s([0, 2, 3]), g.int64s([1, c.sh, c.sw])]);
      taps.push(g.reshape(tap, [Cg, c.N, c.OH, c.OW], [Cg, P]));
    }
    const cols = taps.length === 1 ? taps[0]! : g.op('Concat', taps, { axis: 0 });
    const gk = c.G === 1 ? gT : g.op('Slice', [gT, g.int64s([k * Og]), g.int64s([(k + 1) * Og]), g.int64s([0])]);
    const dw = g.op('Gemm', [gk, cols], { transB: 1 }); // [Og, KH*KW*Cg], columns ordered (i, j, c)
    parts.push(g.transpose(g.reshape(dw, [Og, c.KH * c.KW * Cg], [Og, c.KH, c.KW, Cg]), [0, 3, 1, 2]));
  }
  return { model: g.finish(parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: 0 }), outShape), work };
}
