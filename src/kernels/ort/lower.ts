/**
 * Lowers one kernel call on concrete shapes to a one-output ONNX graph (opset 17). Returns undefined for
 * the cases we leave to the reference backend (empty tiles, unsupported kernels).
 *
 * Graph inputs are the kernel's tiles in order (each in its own dtype; a Cast is inserted when it differs
 * from the output dtype), followed by runtime scalars such as a unary function's alpha, so one session
 * serves every alpha value.
 */
import type { DType } from '../../tile.js';
import { binaryAxes, reduceAxes } from '../defs.js';
import type { BinaryFn, UnaryFn } from '../fns.js';
import { letterSizes, parseTileSpec } from '../tile_spec.js';
import { lowerConvFamily } from './lower_conv.js';
import { lowerGradFamily } from './lower_grad.js';
import { encodeModel, ONNX_DOUBLE, ONNX_FLOAT, ONNX_INT64, type AttrValue, type OnnxInitializer, type OnnxNode, type OnnxValueInfo } from './proto.js';

type Attrs = Readonly<Record<string, unknown>>;
const ELEM: Record<DType, number> = { float32: ONNX_FLOAT, float64: ONNX_DOUBLE };
/** Elements per output from which a float32 ReduceSum runs in float64 (GraphBuilder.reduceSum). */
const LONG_SUM = 4096;

/**
 * A static graph under construction; values are named v0, v1, ...; inputs x0, x1, ...; the output y.
 * Embedded (GraphComposer.call): it writes into a parent graph, its input() calls take the values it was
 * bound to, in order, and finish() only records the result value.
 */
export class GraphBuilder {
  readonly nodes: OnnxNode[];
  readonly inputs: OnnxValueInfo[];
  readonly initializers: OnnxInitializer[];
  private readonly counter: { n: number };
  /** Embedded: the result value finish() was given. */
  result?: string;
  constructor(readonly dtype: DType, parent?: GraphBuilder, private readonly bound?: { value: string; dtype: DType }[]) {
    this.nodes = parent?.nodes ?? [];
    this.inputs = parent?.inputs ?? [];
    this.initializers = parent?.initializers ?? [];
    this.counter = parent?.counter ?? { n: 0 };
  }

  private fresh(): string { return `v${this.counter.n++}`; }

  /** Declares the next graph input (or takes the next bound value); returns a value in the compute dtype. */
  input(dtype: DType, dims: readonly number[]): string {
    let name: string;
    if (this.bound) {
      const b = this.bound.shift();
      if (!b) throw new Error('embedded kernel lowering asked for more inputs than it was bound to');
      [name, dtype] = [b.value, b.dtype];
    } else {
      name = `x${this.inputs.length}`;
      this.inputs.push({ name, elemType: ELEM[dtype], dims });
    }
    return dtype === this.dtype ? name : this.cast(name);
  }

  /** `x` (a mask, another float type) cast to the compute dtype. */
  cast(x: string): string { return this.op('Cast', [x], { to: ELEM[this.dtype] }); }

  /**
   * ReduceSum of `x` (shape `dims`) over `axes`. onnxruntime's CPU ReduceSum adds float32 values one after
   * another in float32: the 6.8 M-element sum of a GCN's loss came out 2.4e-3 relative off. A float32 sum
   * of at least LONG_SUM elements per output therefore runs in float64 (Cast, ReduceSum, Cast back), which
   * costs a pass over the data and is exact to float32 rounding (PyTorch's cascade summation is about as
   * accurate).
   */
  reduceSum(x: string, dims: readonly number[], axes: readonly number[], keepdims: 0 | 1 = 0): string {
    const n = axes.reduce((p, a) => p * dims[a]!, 1);
    if (this.dtype !== 'float32' || n < LONG_SUM) return this.op('ReduceSum', [x, this.int64s(axes)], { keepdims });
    const wide = this.op('Cast', [x], { to: ELEM.float64 });
    return this.cast(this.op('ReduceSum', [wide, this.int64s(axes)], { keepdims }));
  }

  /** A scalar constant of `dtype` (an initializer). */
  scalar(value: number, dtype: DType): string {
    const name = `c${this.initializers.length}`;
    const raw = new Uint8Array((dtype === 'float32' ? Float32Array.of(value) : Float64Array.of(value)).buffer);
    this.initializers.push({ name, elemType: ELEM[dtype], dims: [], raw });
    return name;
  }

  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string {
    const out = this.fresh();
    this.nodes.push({ op, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  }

  /** A node with several outputs; returns their names in order. */
  ops(op: string, inputs: readonly string[], count: number, attrs?: Record<string, AttrValue>): string[] {
    const outs = Array.from({ length: count }, () => this.fresh());
    this.nodes.push({ op, inputs, outputs: outs, ...(attrs ? { attrs } : {}) });
    return outs;
  }

  int64s(values: readonly number[]): string {
    const name = `c${this.initializers.length}`;
    const raw = new Uint8Array(new BigInt64Array(values.map((v) => BigInt(v))).buffer);
    this.initializers.push({ name, elemType: ONNX_INT64, dims: [values.length], raw });
    return name;
  }

  transpose(x: string, perm: readonly number[]): string {
    return perm.every((p, i) => p === i) ? x : this.op('Transpose', [x], { perm });
  }

  /** Reshape unless `from` and `to` already agree. */
  reshape(x: string, from: readonly number[], to: readonly number[]): string {
    return from.length === to.length && from.every((d, i) => d === to[i]) ? x : this.op('Reshape', [x, this.int64s(to)]);
  }

  /** Finishes the graph with `x` as its output y, of shape `dims`, and serialises it. */
  finish(x: string, dims: readonly number[]): Uint8Array {
    if (this.bound) { this.result = x; return new Uint8Array(0); }
    // The output must be produced by a node; a graph that returns an input unchanged gets an Identity.
    const last = this.nodes[this.nodes.length - 1];
    if (last && last.outputs[0] === x) this.nodes[this.nodes.length - 1] = { ...last, outputs: ['y'] };
    else this.nodes.push({ op: 'Identity', inputs: [x], outputs: ['y'] });
    return encodeModel({ nodes: this.nodes, inputs: this.inputs, outputs: [{ name: 'y', elemType: ELEM[this.dtype], dims }], initializers: this.initializers });
  }
}

export interface Lowered {
  model: Uint8Array;
  /** Multiply-adds (or element operations) of the call: how much work it is, to decide on threads. */
  work: number;
}

const prod = (xs: readonly number[]): number => xs.reduce((p, d) => p * d, 1);
const distinct = (s: string): boolean => new Set(s).size === s.length;

// ---- einsum ----

/**
 * Binary specs without repeated or one-sided-summed letters are (batched) matrix products: transpose each
 * operand to [batch, m, k] / [batch, k, n], flatten the groups, MatMul, unflatten and transpose to the
 * output. ORT's optimiser folds the operand transposes into FusedMatMul(transA/transB) where it can.
 * Everything else goes to ONNX Einsum.
 */
function lowerEinsum(g: GraphBuilder, spec: string, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered {
  const { inputs, output } = parseTileSpec(spec);
  const sizes = letterSizes(spec, shapes);
  const xs = shapes.map((s, i) => g.input(dtypes[i]!, s));
  const size = (ls: string): number[] => [...ls].map((c) => sizes.get(c)!);
  const allLetters = [...new Set(inputs.join(''))];
  const work = prod(allLetters.map((c) => sizes.get(c)!));

  if (inputs.length === 1) {
    const l = inputs[0]!;
    if (distinct(l)) {
      // Sum the letters the output drops, then permute what is left into output order.
      const dropped = [...l].map((c, d) => (output.includes(c) ? -1 : d)).filter((d) => d >= 0);
      const kept = [...l].filter((c) => output.includes(c)).join('');
      const summed = dropped.length ? g.reduceSum(xs[0]!, shapes[0]!, dropped) : xs[0]!;
      const y = g.transpose(summed, [...output].map((c) => kept.indexOf(c)));
      return { model: g.finish(y, outShape), work };
    }
  } else if (inputs.length === 2) {
    const [la, lb] = inputs as [string, string];
    const oneSided = [...la].some((c) => !lb.includes(c) && !output.includes(c)) || [...lb].some((c) => !la.includes(c) && !output.includes(c));
    if (distinct(la) && distinct(lb) && !oneSided) {
      const batch = [...output].filter((c) => la.includes(c) && lb.includes(c)).join('');
      const m = [...output].filter((c) => la.includes(c) && !lb.includes(c)).join('');
      const n = [...output].filter((c) => !la.includes(c) && lb.includes(c)).join('');
      const k = [...la].filter((c) => lb.includes(c) && !output.includes(c)).join('');
      const lead = batch ? [prod(size(batch))] : [];
      const K = prod(size(k));
      // x0 (letters l0, free letters mL) times x1 (l1, nL); the result has letters batch + mL + nL.
      const matmul = (x0: string, l0: string, mL: string, x1: string, l1: string, nL: string): string => {
        const M = prod(size(mL)), N = prod(size(nL));
        const a = g.reshape(g.transpose(x0, [...(batch + mL + k)].map((c) => l0.indexOf(c))), size(batch + mL + k), [...lead, M, K]);
        const b = g.reshape(g.transpose(x1, [...(batch + k + nL)].map((c) => l1.indexOf(c))), size(batch + k + nL), [...lead, K, N]);
        const c = g.reshape(g.op('MatMul', [a, b]), [...lead, M, N], size(batch + mL + nL));
        return g.transpose(c, [...output].map((ch) => (batch + mL + nL).indexOf(ch)));
      };
      // Nothing contracted: a broadcasting Mul (as a MatMul it is batched over every element, ~100× slower).
      if (!k) {
        const put = (x: string, l: string) => { const mine = [...output].filter((c) => l.includes(c)).join(''); return g.reshape(g.transpose(x, [...mine].map((c) => l.indexOf(c))), size(mine), [...output].map((c) => (l.includes(c) ? sizes.get(c)! : 1))); };
        return { model: g.finish(g.op('Mul', [put(xs[0]!, la), put(xs[1]!, lb)]), outShape), work };
      }
      // An output laid out [batch, n, m] is (B^T A^T): swapping the operands moves the transpose onto the
      // inputs, where it folds into the matmul, instead of copying the result.
      const swap = output !== batch + m + n && output === batch + n + m;
      const y = swap ? matmul(xs[1]!, lb, n, xs[0]!, la, m) : matmul(xs[0]!, la, m, xs[1]!, lb, n);
      return { model: g.finish(y, outShape), work };
    }
  }
  return { model: g.finish(g.op('Einsum', xs, { equation: spec }), outShape), work };
}

// ---- elementwise ----

const UNARY_OPS: Partial<Record<UnaryFn, string>> = {
  identity: 'Identity', stopGradient: 'Identity', neg: 'Neg', relu: 'Relu', exp: 'Exp', log: 'Log', tanh: 'Tanh',
  sigmoid: 'Sigmoid', sqrt: 'Sqrt', abs: 'Abs', recip: 'Reciprocal',
};
/** Functions of x and alpha, with alpha a scalar runtime input. */
const ALPHA_OPS: Partial<Record<UnaryFn, string>> = { scale: 'Mul', addScalar: 'Add', powScalar: 'Pow' };

/** The runtime scalar inputs that follow a call's tiles (see lowerUnary): alpha for scale/addScalar/powScalar. */
export function scalarInputs(name: string, attrs: Attrs): number[] {
  return name === 'unary' && ALPHA_OPS[attrs.fn as UnaryFn] ? [(attrs.alpha as number | undefined) ?? 0] : [];
}

/** A unary function without runtime scalars applied to value x, or undefined when it has no plain ONNX op. */
function applyUnary(g: GraphBuilder, fn: UnaryFn, x: string): string | undefined {
  if (UNARY_OPS[fn]) return g.op(UNARY_OPS[fn]!, [x]);
  if (fn === 'square') return g.op('Mul', [x, x]);
  return undefined;
}

function lowerUnary(g: GraphBuilder, fn: UnaryFn, shape: readonly number[], dtype: DType): Lowered | undefined {
  const x = g.input(dtype, shape);
  const y = ALPHA_OPS[fn] ? g.op(ALPHA_OPS[fn]!, [x, g.input(g.dtype, [])]) : applyUnary(g, fn, x);
  return y === undefined ? undefined : { model: g.finish(y, shape), work: prod(shape) };
}

/** fused: the first elementwise kernel, then each unary function, as one graph (one call, no intermediate arrays). */
function lowerFused(g: GraphBuilder, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered | undefined {
  const first = attrs.first as { name: string; attrs: Attrs };
  let y: string | undefined = first.name === 'binary' ? emitBinary(g, first.attrs, shapes, dtypes) : applyUnary(g, first.attrs.fn as UnaryFn, g.input(dtypes[0]!, shapes[0]!));
  for (const fn of attrs.then as UnaryFn[]) if (y !== undefined) y = applyUnary(g, fn, y);
  return y === undefined ? undefined : { model: g.finish(y, outShape), work: prod(outShape) };
}

/** NaN differs: ONNX Max/Min propagate a NaN from either side; the reference's max(NaN, 1) is 1, max(1, NaN) NaN. */
const BINARY_OPS: Record<BinaryFn, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', max: 'Max', min: 'Min', pow: 'Pow', eq: 'Equal' };

/**
 * Broadcasting from the axis maps: operand axis i lands on output axis map[i]. Each operand is transposed so
 * its axes are in output order, then reshaped to the output rank with 1s where it has no axis (leading 1s
 * dropped, as ONNX broadcasting right-aligns), so ONNX's numpy-style broadcasting does the rest.
 */
function lowerBinary(g: GraphBuilder, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[], outShape: readonly number[]): Lowered {
  return { model: g.finish(emitBinary(g, attrs, shapes, dtypes), outShape), work: prod(outShape) };
}

/** The broadcasting binary kernel on two fresh graph inputs; returns its value. */
function emitBinary(g: GraphBuilder, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[]): string {
  const [xa, xb] = placeOperands(g, attrs, shapes, dtypes);
  const fn = attrs.fn as BinaryFn;
  let y = g.op(BINARY_OPS[fn], [xa, xb]);
  if (fn === 'eq') y = g.cast(y);
  return y;
}

/** A broadcasting binary kernel's two operands as fresh graph inputs, placed for ONNX's numpy broadcasting. */
export function placeOperands(g: GraphBuilder, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[]): [string, string] {
  const { a, b, rank } = binaryAxes('binary', attrs, shapes);
  const place = (x: string, shape: readonly number[], map: readonly number[]): string => {
    if (map.length === 0) return x; // a scalar broadcasts as it is
    const order = map.map((_, i) => i).sort((i, j) => map[i]! - map[j]!);
    const t = g.transpose(x, order);
    const full = Array.from({ length: rank }, (_, d) => (map.includes(d) ? shape[map.indexOf(d)]! : 1));
    const first = Math.min(...map);
    return g.reshape(t, order.map((i) => shape[i]!), full.slice(first));
  };
  return [place(g.input(dtypes[0]!, shapes[0]!), shapes[0]!, a), place(g.input(dtypes[1]!, shapes[1]!), shapes[1]!, b)];
}

// ---- reductions ----

function lowerReduce(g: GraphBuilder, attrs: Attrs, shape: readonly number[], dtype: DType, outShape: readonly number[]): Lowered {
  const axes = reduceAxes('reduce', attrs, shape.length);
  const x = g.input(dtype, shape);
  let y: string;
  if (axes.length === 0) y = g.op('Identity', [x]);
  else if (attrs.fn === 'sum') y = g.reduceSum(x, shape, axes); // opset 13+: axes is an input
  else y = g.op(attrs.fn === 'max' ? 'ReduceMax' : 'ReduceMin', [x], { axes, keepdims: 0 }); // opset < 18: an attribute
  return { model: g.finish(y, outShape), work: prod(shape) };
}

/** The graph for one kernel call, or undefined when this kernel or case is left to the reference backend. */
export function lowerCall(name: string, attrs: Attrs, shapes: readonly (readonly number[])[], dtypes: readonly DType[],
  outShape: readonly number[], dtype: DType, g = new GraphBuilder(dtype)): Lowered | undefined {
  // Empty tiles: nothing to compute, and zero-sized dims are where ONNX ops disagree most.
  if (shapes.some((s) => prod(s) === 0) || prod(outShape) === 0) return undefined;
  switch (name) {
    case 'einsum': return lowerEinsum(g, attrs.spec as string, shapes, dtypes, outShape);
    case 'unary': return lowerUnary(g, attrs.fn as UnaryFn, shapes[0]!, dtypes[0]!);
    case 'binary': return lowerBinary(g, attrs, shapes, dtypes, outShape);
    case 'fused': return lowerFused(g, attrs, shapes, dtypes, outShape);
    case 'reduce': return lowerReduce(g, attrs, shapes[0]!, dtypes[0]!, outShape);
    case 'softmax': {
      const y = g.op('Softmax', [g.input(dtypes[0]!, shapes[0]!)], { axis: attrs.axis as number });
      return { model: g.finish(y, outShape), work: prod(shapes[0]!) };
    }
    case 'logsumexp': {
      const y = g.op('ReduceLogSumExp', [g.input(dtypes[0]!, shapes[0]!)], { axes: [attrs.axis as number], keepdims: 0 });
      return { model: g.finish(y, outShape), work: prod(shapes[0]!) };
    }
    case 'reshape': case 'expandDims': case 'reshapeGrad': case 'second': case 'einsumGrad': case 'reduceGrad':
    case 'softmaxGrad': case 'logsumexpGrad': case 'unaryGrad': case 'binaryPartial':
      return lowerGradFamily(g, name, attrs, shapes, dtypes, outShape);
    case 'conv2d': case 'conv2dGradInput': case 'conv2dGradWeight': case 'maxPool2d': case 'maxPool2dGrad':
      return lowerConvFamily(g, name, attrs, shapes, dtypes, outShape);
    default: return undefined;
  }
}

/** A value of a composed graph: its name, dtype and shape. */
export interface GraphValue { value: string; dtype: DType; shape: readonly number[] }

/**
 * Several kernel calls composed into one ONNX graph (a whole single-tile plan, see exec/inproc/graph.ts):
 * each call embeds its own lowering, reading earlier values; ORT then plans memory and fuses across calls.
 */
export class GraphComposer {
  private readonly root = new GraphBuilder('float32');
  private outputs: OnnxValueInfo[] = [];

  input(dtype: DType, shape: readonly number[]): GraphValue {
    const value = `x${this.root.inputs.length}`;
    this.root.inputs.push({ name: value, elemType: ELEM[dtype], dims: shape });
    return { value, dtype, shape };
  }

  /** One kernel call on earlier values; undefined when the kernel (or this case) has no ONNX lowering. */
  call(name: string, attrs: Attrs, args: readonly GraphValue[], outShape: readonly number[], dtype: DType): GraphValue | undefined {
    const bound = [...args.map((a) => ({ value: a.value, dtype: a.dtype })), ...scalarInputs(name, attrs).map((v) => ({ value: this.root.scalar(v, dtype), dtype }))];
    const g = new GraphBuilder(dtype, this.root, bound);
    const lowered = lowerCall(name, attrs, args.map((a) => a.shape), args.map((a) => a.dtype), outShape, dtype, g);
    return lowered && g.result !== undefined ? { value: g.result, dtype, shape: outShape } : undefined;
  }

  /** Elementwise sum / max / min of same-shaped values (an aggregation of single tiles), in `dtype`. */
  combine(fn: 'sum' | 'max' | 'min', args: readonly GraphValue[], dtype: DType): GraphValue {
    const g = new GraphBuilder(dtype, this.root, args.map((a) => ({ value: a.value, dtype: a.dtype })));
    const xs = args.map((a) => g.input(a.dtype, a.shape));
    const value = xs.length === 1 ? xs[0]! : g.op(fn === 'sum' ? 'Sum' : fn === 'max' ? 'Max' : 'Min', xs);
    return { value, dtype, shape: args[0]!.shape };
  }

  /** out[i] = a[i + start] inside a, 0 outside (a retile's window on one tile): a Slice, then a zero Pad. */
  window(a: GraphValue, start: readonly number[], shape: readonly number[]): GraphValue | undefined {
    const lo = start.map((s0) => Math.max(0, s0)), hi = start.map((s0, d) => Math.min(a.shape[d]!, s0 + shape[d]!));
    if (hi.some((h, d) => h <= lo[d]!)) return undefined; // nothing of the input inside: all zeros
    const g = new GraphBuilder(a.dtype, this.root, [{ value: a.value, dtype: a.dtype }]);
    let v = g.input(a.dtype, a.shape);
    if (lo.some((l, d) => l > 0 || hi[d]! < a.shape[d]!)) v = g.op('Slice', [v, g.int64s(lo), g.int64s(hi), g.int64s(lo.map((_, d) => d))]);
    const pads = [...lo.map((l, d) => l - start[d]!), ...hi.map((h, d) => start[d]! + shape[d]! - h)];
    if (pads.some((p) => p > 0)) v = g.op('Pad', [v, g.int64s(pads)]);
    return { value: v === a.value ? g.op('Identity', [v]) : v, dtype: a.dtype, shape };
  }

  /** Serialises the graph with `outs` as its outputs o0, o1, ... (an Identity each, so one value may be several outputs). */
  finish(outs: readonly GraphValue[]): Uint8Array {
    outs.forEach((o, i) => {
      this.root.nodes.push({ op: 'Identity', inputs: [o.value], outputs: [`o${i}`] });
      this.outputs.push({ name: `o${i}`, elemType: ELEM[o.dtype], dims: o.shape });
    });
    return encodeModel({ nodes: this.root.nodes, inputs: this.root.inputs, outputs: this.outputs, initializers: this.root.initializers });
  }
}
