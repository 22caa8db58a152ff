/**
 * One derivative entry per kernel: how the gradient of a map's or join's input is computed from the
 * upstream gradient g, in terms of other kernels. The operator rules (rules.ts) turn these recipes into
 * relational plans; a kernel without an entry fails loudly with its name.
 */
import { PlanError } from '../errors.js';
import type { BinaryFn, UnaryFn } from '../kernels/fns.js';
import type { KernelCall } from '../kernels/registry.js';
import { parseTileSpec } from '../kernels/tile_spec.js';

/** A map's input gradient: from g alone (a chain of unary kernels; empty = g itself), from (x, g), or none. */
export type MapGrad = { kind: 'zero' } | { kind: 'gradOnly'; kernels: KernelCall[] } | { kind: 'withInput'; kernel: KernelCall };

/**
 * A join input's gradient, tile by tile on the join's output keys:
 * - gradOnly: unary kernels applied to g;
 * - withOther: kernel(g, the other input's tile);
 * - partial: D = partial(a, b) on the join's keys, then kernel(D, g);
 * then summed onto the input's keys, then optionally fixup(x, that sum) (scatter onto diagonals / broadcasts).
 */
export type JoinGrad =
  | { kind: 'zero' }
  | { kind: 'gradOnly'; kernels: KernelCall[]; fixup?: KernelCall }
  | { kind: 'withOther'; kernel: KernelCall; fixup?: KernelCall }
  | { kind: 'partial'; partial: KernelCall; kernel: KernelCall };

const einsum = (spec: string): KernelCall => ({ name: 'einsum', attrs: { spec } });
const unary = (fn: UnaryFn, alpha?: number): KernelCall => ({ name: 'unary', attrs: alpha === undefined ? { fn } : { fn, alpha } });

const LINEAR_UNARY = new Set<UnaryFn>(['identity', 'addScalar', 'neg', 'scale']);

export function mapGrad(k: KernelCall): MapGrad {
  const a = k.attrs;
  switch (k.name) {
    case 'unary': {
      const fn = a.fn as UnaryFn;
      if (fn === 'stopGradient') return { kind: 'zero' };
      if (LINEAR_UNARY.has(fn)) return { kind: 'gradOnly', kernels: fn === 'neg' ? [unary('neg')] : fn === 'scale' ? [unary('scale', a.alpha as number)] : [] };
      return { kind: 'withInput', kernel: { name: 'unaryGrad', attrs: a } };
    }
    case 'einsum': {
      const { inputs: [x], output } = parseTileSpec(a.spec as string);
      const isPermutation = new Set(x).size === x!.length && x!.length === output.length;
      return isPermutation ? { kind: 'gradOnly', kernels: [einsum(`${output}->${x}`)] } : { kind: 'withInput', kernel: { name: 'einsumGrad', attrs: a } };
    }
    case 'reduce': return { kind: 'withInput', kernel: { name: 'reduceGrad', attrs: a } };
    case 'softmax': return { kind: 'withInput', kernel: { name: 'softmaxGrad', attrs: a } };
    case 'logsumexp': return { kind: 'withInput', kernel: { name: 'logsumexpGrad', attrs: a } };
    case 'expandDims':
    case 'reshape': return { kind: 'withInput', kernel: { name: 'reshapeGrad', attrs: {} } };
    // im2col is linear: its adjoint col2im scatter-adds columns back; x only supplies the image shape.
    case 'im2col': return { kind: 'withInput', kernel: { name: 'col2im', attrs: a } };
    case 'maxPool2d': return { kind: 'withInput', kernel: { name: 'maxPool2dGrad', attrs: a } };
    default: throw new PlanError(`autodiff: kernel '${k.name}' has no derivative rule for map`, { kernel: k.name });
  }
}

/** Letters for a broadcasting binary kernel: output axis d is letter d; each operand's letters follow its axis map. */
function binaryLetters(a: KernelCall['attrs']): { A: string; B: string; O: string } {
  const am = a.a as number[], bm = a.b as number[];
  const rank = Math.max(-1, ...am, ...bm) + 1;
  const L = (d: number) => String.fromCharCode(97 + d);
  return { A: am.map(L).join(''), B: bm.map(L).join(''), O: Array.from({ length: rank }, (_, d) => L(d)).join('') };
}

/** Gradient of an einsum "A,B->O" w.r.t. A, as a kernel on (g, b), plus a fixup when A repeats or sums letters alone. */
function einsumOperandGrad(A: string, B: string, O: string): JoinGrad {
  const reach = [...new Set(A)].filter((c) => O.includes(c) || B.includes(c)).join('');
  const kernel = einsum(`${O},${B}->${reach}`);
  return reach === A ? { kind: 'withOther', kernel } : { kind: 'withOther', kernel, fixup: { name: 'einsumGrad', attrs: { spec: `${A}->${reach}` } } };
}

function reduceTo(O: string, X: string): KernelCall[] {
  return O === X ? [] : [einsum(`${O}->${X}`)];
}

export function joinGrad(k: KernelCall, wrt: 0 | 1): JoinGrad {
  const a = k.attrs;
  if (k.name === 'einsum') {
    const { inputs: [A, B], output: O } = parseTileSpec(a.spec as string);
    if (B === undefined) throw new PlanError(`autodiff: join kernel einsum(${String(a.spec)}) must take two tiles`);
    return wrt === 0 ? einsumOperandGrad(A!, B, O) : einsumOperandGrad(B, A!, O);
  }
  if (k.name === 'binary') {
    const fn = a.fn as BinaryFn;
    const { A, B, O } = binaryLetters(a);
    const X = wrt === 0 ? A : B;
    switch (fn) {
      case 'add': return { kind: 'gradOnly', kernels: reduceTo(O, X) };
      case 'sub': return { kind: 'gradOnly', kernels: wrt === 0 ? reduceTo(O, X) : [...reduceTo(O, X), unary('neg')] };
      case 'mul': return wrt === 0 ? einsumOperandGrad(A, B, O) : einsumOperandGrad(B, A, O);
      case 'eq': return { kind: 'zero' };
      default: return { kind: 'partial', partial: { name: 'binaryPartial', attrs: { ...a, wrt } }, kernel: einsum(`${O},${O}->${X}`) };
    }
  }
  // conv2d(x, w) is linear in each operand: dx = conv2dGradInput(g, w), dw = conv2dGradWeight(g, x).
  if (k.name === 'conv2d') return { kind: 'withOther', kernel: { name: wrt === 0 ? 'conv2dGradInput' : 'conv2dGradWeight', attrs: a } };
  // spmm(A, H), A sparse (kernels/sparse.ts): dH = Aᵀ·G; dA = G·Hᵀ sampled at A's nonzeros.
  if (k.name === 'spmm') return wrt === 1 ? { kind: 'withOther', kernel: { name: 'spmmT', attrs: {} } } : { kind: 'withOther', kernel: einsum('ik,jk->ij'), fixup: { name: 'sparseSample', attrs: {} } };
  throw new PlanError(`autodiff: kernel '${k.name}' has no derivative rule for join`, { kernel: k.name });
}
