/**
 * ONNX graphs for the shape kernels and the derivative kernels of defs.ts, so a whole training step can
 * be one graph (exec/inproc/graph.ts). Each mirrors its reference implementation (kernels/reference):
 * - reshape / expandDims / reshapeGrad: Reshape; second: its second tile.
 * - einsumGrad 'X->O' with distinct letters in X: g broadcast back over the letters O dropped (a repeated
 *   letter — a diagonal — stays on the reference).
 * - reduceGrad: sum broadcasts g over the reduced axes; max/min send g to every element equal to the
 *   extreme (as the reference does).
 * - softmaxGrad: y ⊙ (g − Σ g ⊙ y); logsumexpGrad: softmax(x) ⊙ g.
 * - unaryGrad: g ⊙ f'(x) from each function's derivative (fns.ts).
 * - binaryPartial: the elementwise partial derivative of a broadcasting binary function, output-shaped.
 */
import { sizeOf, type DType } from '../../tile.js';
import type { BinaryFn, UnaryFn } from '../fns.js';
import { parseTileSpec } from '../tile_spec.js';
import { placeOperands, type GraphBuilder, type Lowered } from './lower.js';

type Attrs = Readonly<Record<string, unknown>>;

/** x's shape with 1 at each of `axes` (sorted), from g's shape without them. */
function withOnes(rank: number, axes: readonly number[], gShape: readonly number[]): number[] {
  let j = 0;
  return Array.from({ length: rank }, (_, d) => (axes.includes(d) ? 1 : gShape[j++]!));
}

/** f'(x) as a graph value, or undefined when the function has no lowering here. */
function derivative(g: GraphBuilder, fn: UnaryFn, x: string, alpha: number): string | undefined {
  const c = (v: number) => g.scalar(v, g.dtype);
  switch (fn) {
    case 'exp': return g.op('Exp', [x]);
    case 'log': return g.op('Reciprocal', [x]);
    case 'tanh': { const t = g.op('Tanh', [x]); return g.op('Sub', [c(1), g.op('Mul', [t, t])]); }
    case 'sigmoid': { const s = g.op('Sigmoid', [x]); return g.op('Mul', [s, g.op('Sub', [c(1), s])]); }
    case 'sqrt': return g.op('Div', [c(0.5), g.op('Sqrt', [x])]);
    case 'abs': return g.op('Sign', [x]);
    case 'square': return g.op('Mul', [x, c(2)]);
    case 'recip': return g.op('Neg', [g.op('Reciprocal', [g.op('Mul', [x, x])])]);
    case 'powScalar': return g.op('Mul', [c(alpha), g.op('Pow', [x, c(alpha - 1)])]);
    default: return undefined;
  }
}

/** d f(a, b) / d(a or b) from placed operands (fns.ts binaryPartials; Expand makes it output-shaped), or undefined. */
function partial(g: GraphBuilder, fn: BinaryFn, wrt: number, a: string, b: string): string | undefined {
  const c = (v: number) => g.scalar(v, g.dtype), mask = (cmp: string, x: string, y: string) => g.cast(g.op(cmp, [x, y]));
  switch (fn) {
    case 'add': return c(1);
    case 'sub': return c(wrt === 0 ? 1 : -1);
    case 'mul': return wrt === 0 ? b : a;
    case 'div': return wrt === 0 ? g.op('Reciprocal', [b]) : g.op('Neg', [g.op('Div', [a, g.op('Mul', [b, b])])]);
    case 'max': return wrt === 0 ? mask('GreaterOrEqual', a, b) : mask('Less', a, b);
    case 'min': return wrt === 0 ? mask('LessOrEqual', a, b) : mask('Greater', a, b);
    case 'pow': return wrt === 0 ? g.op('Mul', [b, g.op('Pow', [a, g.op('Sub', [b, c(1)])])]) : g.op('Mul', [g.op('Pow', [a, b]), g.op('Log', [a])]);
    case 'eq': return c(0);
    default: return undefined;
  }
}

export function lowerGradFamily(g: GraphBuilder, name: string, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered | undefined {
  const work = Math.max(sizeOf(outShape), ...shapes.map(sizeOf));
  const done = (y: string): Lowered => ({ model: g.finish(y, outShape), work });
  if (name === 'binaryPartial') {
    const [a, b] = placeOperands(g, attrs, shapes, dtypes);
    const d = partial(g, attrs.fn as BinaryFn, attrs.wrt === 1 ? 1 : 0, a, b);
    return d === undefined ? undefined : done(g.op('Expand', [d, g.int64s(outShape)]));
  }
  const x = g.input(dtypes[0]!, shapes[0]!);
  switch (name) {
    case 'reshape': case 'expandDims': return done(g.op('Reshape', [x, g.int64s(outShape)]));
    case 'reshapeGrad': { const gr = g.input(dtypes[1]!, shapes[1]!); return done(g.op('Reshape', [gr, g.int64s(outShape)])); }
    case 'second': return done(g.op('Identity', [g.input(dtypes[1]!, shapes[1]!)]));
    case 'einsumGrad': {
      const { inputs: [X], output: O } = parseTileSpec(attrs.spec as string);
      if (new Set(X).size !== X!.length) return undefined;
      const gr = g.input(dtypes[1]!, shapes[1]!);
      // g's letters in X's order, then 1s where X has letters O dropped, then broadcast.
      const kept = [...X!].filter((ch) => O.includes(ch));
      const t = g.transpose(gr, kept.map((ch) => O.indexOf(ch)));
      const r = g.reshape(t, kept.map((ch) => shapes[1]![O.indexOf(ch)]!), [...X!].map((ch, d) => (O.includes(ch) ? shapes[0]![d]! : 1)));
      return done(g.op('Expand', [r, g.int64s(outShape)]));
    }
    case 'reduceGrad': {
      const axes = [...(attrs.axes as number[])].sort((a, b) => a - b), gr = g.input(dtypes[1]!, shapes[1]!);
      const b = g.op('Expand', [g.reshape(gr, shapes[1]!, withOnes(shapes[0]!.length, axes, shapes[1]!)), g.int64s(outShape)]);
      if (attrs.fn === 'sum' || axes.length === 0) return done(b);
      const m = g.op(attrs.fn === 'max' ? 'ReduceMax' : 'ReduceMin', [x], { axes, keepdims: 1 });
      return done(g.op('Mul', [b, g.cast(g.op('Equal', [x, m]))]));
    }
    case 'softmaxGrad': {
      const axis = attrs.axis as number, gr = g.input(dtypes[1]!, shapes[1]!);
      const y = g.op('Softmax', [x], { axis });
      const s = g.op('ReduceSum', [g.op('Mul', [gr, y]), g.int64s([axis])], { keepdims: 1 });
      return done(g.op('Mul', [y, g.op('Sub', [gr, s])]));
    }
    case 'logsumexpGrad': {
      const axis = attrs.axis as number, gr = g.input(dtypes[1]!, shapes[1]!);
      const y = g.op('Softmax', [x], { axis });
      return done(g.op('Mul', [y, g.op('Unsqueeze', [gr, g.int64s([axis])])]));
    }
    case 'unaryGrad': {
      const fn = attrs.fn as UnaryFn, gr = g.input(dtypes[1]!, shapes[1]!);
      // relu: g * (x > 0); measured in the CNN step, Mul of the cast mask beats Where (0.9 vs 2.5 ms) and g * relu(sign(x)).
      if (fn === 'relu') { const z = g.scalar(0, g.dtype); return done(g.op('Mul', [gr, g.cast(g.op('Greater', [x, z]))])); }
      if (fn === 'identity' || fn === 'addScalar') return done(g.op('Identity', [gr]));
      if (fn === 'neg') return done(g.op('Neg', [gr]));
      if (fn === 'scale') return done(g.op('Mul', [gr, g.scalar(attrs.alpha as number, g.dtype)]));
      const d = derivative(g, fn, x, (attrs.alpha as number | undefined) ?? 0);
      return d === undefined ? undefined : done(g.op('Mul', [gr, d]));
    }
    default: return undefined;
  }
}
