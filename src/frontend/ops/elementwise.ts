/**
 * Elementwise ops. Unary ones are maps. Binary ones broadcast like numpy: dims are right-aligned, size-1
 * dims are squeezed away, and the two relations are joined on the dims they share, with a broadcasting
 * tile kernel that writes the output's layout directly.
 */
import { ShapeError } from '../../errors.js';
import type { BinaryFn, UnaryFn } from '../../kernels/fns.js';
import * as tra from '../../tra/build.js';
import { retileTo, squeeze } from '../../tra/lettered.js';
import { Tensor, tensor } from '../tensor.js';

export type TensorOrNumber = Tensor | number;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function unaryOp(x: Tensor, fn: UnaryFn, alpha?: number): Tensor {
  return new Tensor(tra.map(x.node, { name: 'unary', attrs: alpha === undefined ? { fn } : { fn, alpha } }));
}

export const neg = (x: Tensor) => unaryOp(x, 'neg');
export const relu = (x: Tensor) => unaryOp(x, 'relu');
export const exp = (x: Tensor) => unaryOp(x, 'exp');
export const log = (x: Tensor) => unaryOp(x, 'log');
export const tanh = (x: Tensor) => unaryOp(x, 'tanh');
export const sigmoid = (x: Tensor) => unaryOp(x, 'sigmoid');
export const sqrt = (x: Tensor) => unaryOp(x, 'sqrt');
export const abs = (x: Tensor) => unaryOp(x, 'abs');
export const square = (x: Tensor) => unaryOp(x, 'square');
export const reciprocal = (x: Tensor) => unaryOp(x, 'recip');
export const powScalar = (x: Tensor, p: number) => unaryOp(x, 'powScalar', p);
export const scale = (x: Tensor, a: number) => unaryOp(x, 'scale', a);
/** Identity forward, zero gradient (jax.lax.stop_gradient, torch's detach). */
export const stopGradient = (x: Tensor) => unaryOp(x, 'stopGradient');

/** Output shape of numpy broadcasting, or a ShapeError naming both shapes and the dim. */
export function broadcastShapes(a: readonly number[], b: readonly number[], what: string): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(`${what}: shapes [${a}] and [${b}] do not broadcast (dim ${i}: ${x} vs ${y})`, { a: [...a], b: [...b], dim: i });
    return Math.max(x, y);
  });
}

export function binaryOp(fn: BinaryFn, x: TensorOrNumber, y: TensorOrNumber): Tensor {
  if (typeof x === 'number' && typeof y === 'number') return tensor(binaryScalar(fn, x, y));
  if (typeof y === 'number') {
    if (fn === 'add') return unaryOp(x as Tensor, 'addScalar', y);
    if (fn === 'sub') return unaryOp(x as Tensor, 'addScalar', -y);
    if (fn === 'mul') return unaryOp(x as Tensor, 'scale', y);
    if (fn === 'div') return unaryOp(x as Tensor, 'scale', 1 / y);
    if (fn === 'pow') return unaryOp(x as Tensor, 'powScalar', y);
  }
  if (typeof x === 'number' && (fn === 'add' || fn === 'mul')) return binaryOp(fn, y, x);
  const a = typeof x === 'number' ? tensor(x, { dtype: (y as Tensor).dtype }) : x;
  const b = typeof y === 'number' ? tensor(y, { dtype: a.dtype }) : y;
  if (a.dtype !== b.dtype) throw new ShapeError(`${fn}: operands have dtypes ${a.dtype} and ${b.dtype}`);
  const out = broadcastShapes(a.shape, b.shape, fn);
  const R = out.length;
  if (R > LETTERS.length) throw new ShapeError(`${fn}: rank ${R} exceeds the ${LETTERS.length} dims supported`);
  const L = (d: number) => LETTERS[d]!, D = (c: string) => LETTERS.indexOf(c);
  // Letters are output dim numbers; each operand drops dims it broadcasts.
  const side = (t: Tensor) => {
    const letters = t.shape.map((_, i) => L(R - t.rank + i));
    const bcast = t.shape.map((n, i) => (n === 1 && out[R - t.rank + i]! > 1 ? i : -1)).filter((i) => i >= 0);
    return squeeze({ node: t.node, letters }, bcast);
  };
  const sa = side(a), sb0 = side(b);
  // Shared dims must be tiled alike: b follows a.
  const aTile = new Map(sa.letters.map((c) => [c, a.tile[D(c) - (R - a.rank)]!] as const));
  const sb = { node: retileTo(sb0.node, sb0.letters.map((c) => aTile.get(c) ?? b.tile[D(c) - (R - b.rank)]!)), letters: sb0.letters };
  const shared = sa.letters.filter((c) => sb.letters.includes(c));
  const on = shared.map((c) => [sa.letters.indexOf(c), sb.letters.indexOf(c)] as [number, number]);
  const joinKeys = [...sa.letters, ...sb.letters.filter((c) => !shared.includes(c))];
  const joined = tra.join(sa.node, sb.node, on, { name: 'binary', attrs: { fn, a: sa.letters.map(D), b: sb.letters.map(D) } });
  const pos = Array.from({ length: R }, (_, d) => joinKeys.indexOf(L(d)));
  return new Tensor(pos.every((p, i) => p === i) ? joined : tra.rekey(joined, pos));
}

function binaryScalar(fn: BinaryFn, x: number, y: number): number {
  switch (fn) {
    case 'add': return x + y; case 'sub': return x - y; case 'mul': return x * y; case 'div': return x / y;
    case 'max': return Math.max(x, y); case 'min': return Math.min(x, y); case 'pow': return x ** y; case 'eq': return x === y ? 1 : 0;
  }
}

export const add = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('add', x, y);
export const sub = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('sub', x, y);
export const mul = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('mul', x, y);
export const div = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('div', x, y);
export const maximum = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('max', x, y);
export const minimum = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('min', x, y);
export const pow = (x: TensorOrNumber, y: TensorOrNumber) => binaryOp('pow', x, y);
