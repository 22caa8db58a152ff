/**
 * Every kernel's definition: name, arity, attributes, output dims. Implementations live per backend
 * (reference/ is the pure-TypeScript one); derivatives live in src/autodiff/kernel_grads.ts.
 */
import { KernelError } from '../errors.js';
import { sizeOf } from '../tile.js';
import { axisAttr, intsAttr, oneOf, strAttr } from './attrs.js';
import { BINARY_FNS, UNARY_FNS } from './fns.js';
import { defineKernel, type DimSource } from './registry.js';
import { letterSizes, parseTileSpec } from './tile_spec.js';

type Shapes = readonly (readonly number[])[];
type Attrs = Readonly<Record<string, unknown>>;

const sameAs = (input: number, rank: number): DimSource[] => Array.from({ length: rank }, (_, dim) => ({ input, dim }));

function requireSameShape(kernel: string, shapes: Shapes): void {
  const [a, b] = shapes;
  if (a!.length !== b!.length || a!.some((d, i) => d !== b![i])) {
    throw new KernelError(kernel, `tiles must have the same shape, got [${a!.join(',')}] and [${b!.join(',')}]`);
  }
}

/** Output dims of an einsum spec: each output letter comes from the first input that has it. */
function einsumDims(spec: string, shapes: Shapes): DimSource[] {
  const { inputs, output } = parseTileSpec(spec);
  letterSizes(spec, shapes);
  return [...output].map((c) => {
    const input = inputs.findIndex((s) => s.includes(c));
    return { input, dim: inputs[input]!.indexOf(c) };
  });
}

/** Axis maps of the broadcasting binary kernel: operand axis i lands on output axis a[i]. */
export function binaryAxes(kernel: string, attrs: Attrs, shapes: Shapes): { a: number[]; b: number[]; rank: number } {
  const a = intsAttr(kernel, attrs, 'a'), b = intsAttr(kernel, attrs, 'b');
  const rank = Math.max(-1, ...a, ...b) + 1;
  if (a.length !== shapes[0]!.length || b.length !== shapes[1]!.length) {
    throw new KernelError(kernel, `axis maps a=[${a}] b=[${b}] do not match tile ranks ${shapes[0]!.length} and ${shapes[1]!.length}`);
  }
  for (const m of [a, b]) if (new Set(m).size !== m.length) throw new KernelError(kernel, `axis map [${m}] repeats an axis`);
  for (let d = 0; d < rank; d++) {
    const ia = a.indexOf(d), ib = b.indexOf(d);
    if (ia < 0 && ib < 0) throw new KernelError(kernel, `output axis ${d} comes from neither operand`);
    if (ia >= 0 && ib >= 0 && shapes[0]![ia] !== shapes[1]![ib]) {
      throw new KernelError(kernel, `output axis ${d} is ${shapes[0]![ia]} in the first tile and ${shapes[1]![ib]} in the second`);
    }
  }
  return { a, b, rank };
}

function binaryDims(kernel: string, attrs: Attrs, shapes: Shapes): DimSource[] {
  const { a, b, rank } = binaryAxes(kernel, attrs, shapes);
  return Array.from({ length: rank }, (_, d) => (a.includes(d) ? { input: 0, dim: a.indexOf(d) } : { input: 1, dim: b.indexOf(d) }));
}

export function reduceAxes(kernel: string, attrs: Attrs, rank: number): number[] {
  const axes = intsAttr(kernel, attrs, 'axes');
  for (const x of axes) if (x < 0 || x >= rank) throw new KernelError(kernel, `axis ${x} is outside [0, ${rank})`);
  if (new Set(axes).size !== axes.length) throw new KernelError(kernel, `axes [${axes}] repeat`);
  return axes;
}

// ---- forward kernels ----
defineKernel({
  name: 'einsum', arity: -1,
  outDims: (shapes, attrs) => einsumDims(strAttr('einsum', attrs, 'spec'), shapes),
  describe: (attrs) => `einsum(${String(attrs.spec)})`,
});
defineKernel({
  name: 'unary', arity: 1,
  outDims: (shapes, attrs) => { oneOf('unary', attrs, 'fn', UNARY_FNS); return sameAs(0, shapes[0]!.length); },
  describe: (attrs) => `${String(attrs.fn)}${attrs.alpha !== undefined ? `(${String(attrs.alpha)})` : ''}`,
});
defineKernel({
  name: 'binary', arity: 2,
  outDims: (shapes, attrs) => { oneOf('binary', attrs, 'fn', BINARY_FNS); return binaryDims('binary', attrs, shapes); },
  describe: (attrs) => `${String(attrs.fn)}[${String(attrs.a)}|${String(attrs.b)}]`,
});
defineKernel({
  name: 'reduce', arity: 1,
  outDims: (shapes, attrs) => {
    oneOf('reduce', attrs, 'fn', ['sum', 'max', 'min'] as const);
    const axes = reduceAxes('reduce', attrs, shapes[0]!.length);
    return sameAs(0, shapes[0]!.length).filter((s) => !axes.includes((s as { dim: number }).dim));
  },
  describe: (attrs) => `reduce_${String(attrs.fn)}(${String(attrs.axes)})`,
});
defineKernel({
  name: 'softmax', arity: 1,
  outDims: (shapes, attrs) => { axisAttr('softmax', attrs, 'axis', shapes[0]!.length); return sameAs(0, shapes[0]!.length); },
  describe: (attrs) => `softmax(${String(attrs.axis)})`,
});
defineKernel({
  name: 'logsumexp', arity: 1,
  outDims: (shapes, attrs) => {
    const axis = axisAttr('logsumexp', attrs, 'axis', shapes[0]!.length);
    return sameAs(0, shapes[0]!.length).filter((_, d) => d !== axis);
  },
  describe: (attrs) => `logsumexp(${String(attrs.axis)})`,
});
defineKernel({
  name: 'reshape', arity: 1,
  outDims: (shapes, attrs) => {
    const shape = intsAttr('reshape', attrs, 'shape');
    if (sizeOf(shape) !== sizeOf(shapes[0]!)) throw new KernelError('reshape', `cannot reshape [${shapes[0]!.join(',')}] to [${shape.join(',')}]`);
    return shape.map((size) => ({ size }));
  },
  describe: (attrs) => `reshape([${String(attrs.shape)}])`,
});

// ---- derivative kernels: (x, g) -> dx, shaped like x ----
const likeFirst = (kernel: string) => (shapes: Shapes): DimSource[] => {
  if (shapes.length !== 2) throw new KernelError(kernel, 'takes (x, g)');
  return sameAs(0, shapes[0]!.length);
};
defineKernel({ name: 'unaryGrad', arity: 2, outDims: (s, attrs) => { oneOf('unaryGrad', attrs, 'fn', UNARY_FNS); requireSameShape('unaryGrad', s); return sameAs(0, s[0]!.length); }, describe: (a) => `d${String(a.fn)}` });
defineKernel({ name: 'einsumGrad', arity: 2, outDims: (s, attrs) => {
  const spec = strAttr('einsumGrad', attrs, 'spec');
  const { output } = parseTileSpec(spec);
  const outShape = einsumDims(spec, [s[0]!]).map((src) => s[0]![(src as { dim: number }).dim]!);
  if (output.length !== s[1]!.length || outShape.some((d, i) => d !== s[1]![i])) throw new KernelError('einsumGrad', `gradient tile [${s[1]!.join(',')}] does not match ${spec} output [${outShape.join(',')}]`);
  return sameAs(0, s[0]!.length);
}, describe: (a) => `d_einsum(${String(a.spec)})` });
defineKernel({ name: 'softmaxGrad', arity: 2, outDims: (s, a) => { axisAttr('softmaxGrad', a, 'axis', s[0]!.length); requireSameShape('softmaxGrad', s); return sameAs(0, s[0]!.length); }, describe: (a) => `d_softmax(${String(a.axis)})` });
defineKernel({ name: 'logsumexpGrad', arity: 2, outDims: (s, a) => { axisAttr('logsumexpGrad', a, 'axis', s[0]!.length); return likeFirst('logsumexpGrad')(s); }, describe: (a) => `d_logsumexp(${String(a.axis)})` });
defineKernel({ name: 'reduceGrad', arity: 2, outDims: (s, a) => { oneOf('reduceGrad', a, 'fn', ['sum', 'max', 'min'] as const); reduceAxes('reduceGrad', a, s[0]!.length); return likeFirst('reduceGrad')(s); }, describe: (a) => `d_reduce_${String(a.fn)}(${String(a.axes)})` });
defineKernel({ name: 'reshapeGrad', arity: 2, outDims: (s) => {
  if (sizeOf(s[0]!) !== sizeOf(s[1]!)) throw new KernelError('reshapeGrad', `gradient of size ${sizeOf(s[1]!)} cannot take shape [${s[0]!.join(',')}]`);
  return sameAs(0, s[0]!.length);
}, describe: () => 'd_reshape' });
/** Elementwise partial derivative of a broadcasting binary kernel w.r.t. operand `wrt`, shaped like the output. */
defineKernel({ name: 'binaryPartial', arity: 2, outDims: (s, a) => { oneOf('binaryPartial', a, 'fn', BINARY_FNS); return binaryDims('binaryPartial', a, s); }, describe: (a) => `d${String(a.fn)}/d${a.wrt === 1 ? 'b' : 'a'}` });
/** Returns its second tile: a semi-join that keeps the first relation's keys and the second's values. */
defineKernel({ name: 'second', arity: 2, outDims: (s) => { requireSameShape('second', s); return sameAs(1, s[1]!.length); }, describe: () => 'second' });
/** Inserts a size-1 axis at `axis` (keepdims, unsqueeze); its gradient is an einsum that drops it. */
defineKernel({ name: 'expandDims', arity: 1, outDims: (s, a) => {
  const axis = axisAttr('expandDims', a, 'axis', s[0]!.length + 1);
  const dims: DimSource[] = sameAs(0, s[0]!.length);
  dims.splice(axis, 0, { size: 1 });
  return dims;
}, describe: (a) => `expand_dims(${String(a.axis)})` });

/**
 * An elementwise chain run as one call: `first` (a unary or binary elementwise kernel) followed by the
 * unary functions in `then`. The executor forms it from a map step that alone consumes an elementwise
 * step (bias add then ReLU, say), so fast backends run one fused loop or graph instead of several.
 */
export const FUSABLE_UNARY = ['identity', 'neg', 'relu', 'exp', 'log', 'tanh', 'sigmoid', 'sqrt', 'abs', 'square', 'recip'] as const;
defineKernel({ name: 'fused', arity: -1, outDims: (s, a) => {
  const first = a.first as { name: string; attrs: Attrs } | undefined;
  if (!first || (first.name !== 'unary' && first.name !== 'binary')) throw new KernelError('fused', `attribute 'first' must be a unary or binary kernel call, got ${JSON.stringify(first)}`);
  const then = a.then;
  if (!Array.isArray(then) || !then.every((f) => (FUSABLE_UNARY as readonly string[]).includes(f))) throw new KernelError('fused', `attribute 'then' must list unary functions without parameters, got ${JSON.stringify(then)}`);
  return first.name === 'unary' ? (oneOf('fused', first.attrs, 'fn', UNARY_FNS), sameAs(0, s[0]!.length)) : (oneOf('fused', first.attrs, 'fn', BINARY_FNS), binaryDims('binary', first.attrs, s));
}, describe: (a) => `fused(${[(a.first as { attrs: Attrs }).attrs.fn, ...(a.then as string[])].join(' -> ')})` });
