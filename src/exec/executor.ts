/**
 * The executor contract: run a plan on bound inputs, give back one relation per output. Every executor
 * (reference, in-process multi-site, SQL) implements this and passes the same conformance suite.
 */
import { BindingError, NonFiniteError } from '../errors.js';
import type { Node } from '../tra/node.js';
import type { Plan } from '../tra/plan.js';
import { Relation } from '../tra/relation.js';
import { denseShape, isDense, schemaEquals, schemaString, tileSizes } from '../tra/schema.js';
import type { DType, TileData } from '../tile.js';

/** A value bound to a plan input: a relation, or a dense tensor that is tiled as the input's schema says. */
export type Binding = Relation | { shape: readonly number[]; data: ArrayLike<number> };
export type Bindings = Readonly<Record<string, Binding>>;

export interface RunOptions {
  /** Compute every tile in this dtype (float64 for checking), whatever the plan says. */
  precision?: DType;
  /**
   * NaN/Infinity checks, raising NonFiniteError with the operator, key and element:
   * true (default) checks inputs, outputs, and every operator whose kernel can turn finite values into
   * non-finite ones (log, sqrt, division, powers, exp: see `mayCreateNonFinite`), so a domain error is
   * named where it happens and an overflow is caught at the latest at an output; 'all' checks every
   * operator (the reference executor's default); false checks nothing.
   */
  checkFinite?: boolean | 'all';
}

export interface Executor {
  readonly name: string;
  run(plan: Plan, bindings: Bindings, opts?: RunOptions): Promise<Relation[]>;
}

/** Turns a binding into a relation matching the input node's schema (tiling dense data as needed). */
export function bindInput(node: Node, b: Binding | undefined, dtype: DType): Relation {
  const name = node.attrs.name as string;
  if (b === undefined) throw new BindingError(name, 'is not bound');
  const schema = { ...node.schema, dtype };
  if (b instanceof Relation) {
    // A dense tensor relation under another tiling is re-tiled (the optimizer may choose input tilings).
    if (!schemaEquals({ ...b.schema, dtype }, schema) && isDense(b.schema) && isDense(node.schema) && sameDims(denseShape(b.schema), denseShape(node.schema))) {
      const d = b.toDense(dtype);
      return Relation.fromDense(d.data, d.shape, { tile: tileSizes(node.schema), dtype, name });
    }
    if (!schemaEquals({ ...b.schema, dtype }, schema)) throw new BindingError(name, `bound to a relation with schema ${schemaString(b.schema)}, the plan expects ${schemaString(node.schema)}`);
    if (b.schema.dtype === dtype) return b;
    const cast = new Relation(schema, name);
    for (const t of b.tuples()) cast.set(t.key, t.tile);
    return cast;
  }
  if (!isDense(node.schema)) throw new BindingError(name, 'is not a dense tensor relation; bind a Relation');
  const want = denseShape(node.schema);
  if (b.shape.length !== want.length || b.shape.some((d, i) => d !== want[i])) throw new BindingError(name, `bound to shape [${b.shape.join(',')}], the plan expects [${want.join(',')}]`);
  return Relation.fromDense(b.data, want, { tile: tileSizes(node.schema), dtype, name });
}

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Finds the first NaN/Infinity in a relation and raises, naming `where`, the key and the element. */
export function checkFinite(rel: Relation, where: string): void {
  for (const { key, tile } of rel.tuples()) {
    // A NaN or infinity anywhere makes the sum non-finite: one cheap pass, and a second only to locate it.
    if (Number.isFinite(sumOf(tile.data))) continue;
    const d: TileData = tile.data;
    for (let i = 0; i < d.length; i++) {
      const v = d[i]!;
      if (v - v !== 0) throw new NonFiniteError(where, key, i, v);
    }
  }
}

/** Whether every element of every tile is finite (the same one-pass sum test, confirmed element by element). */
export function allFinite(rel: Relation): boolean {
  for (const { tile } of rel.tuples()) {
    if (Number.isFinite(sumOf(tile.data))) continue;
    const d: TileData = tile.data;
    for (let i = 0; i < d.length; i++) if (d[i]! - d[i]! !== 0) return false;
  }
  return true;
}

function sumOf(d: TileData): number {
  return d instanceof Float32Array ? sum32(d) : sum64(d);
}
// Separate monomorphic loops keep V8's element access fast.
function sum32(d: Float32Array): number { let s = 0; for (let i = 0; i < d.length; i++) s += d[i]!; return s; }
function sum64(d: Float64Array): number { let s = 0; for (let i = 0; i < d.length; i++) s += d[i]!; return s; }

const RISKY_UNARY = new Set(['log', 'sqrt', 'recip', 'powScalar', 'exp']);
const RISKY_BINARY = new Set(['div', 'pow']);

/** Whether a node's kernel can produce NaN/Infinity from finite inputs (beyond float overflow in sums and products). */
export function mayCreateNonFinite(node: Node): boolean {
  const k = node.attrs.kernel as { name: string; attrs: Record<string, unknown> } | undefined;
  if (!k) return false;
  if (k.name === 'unary' || k.name === 'unaryGrad') return RISKY_UNARY.has(k.attrs.fn as string);
  if (k.name === 'binary' || k.name === 'binaryPartial') return RISKY_BINARY.has(k.attrs.fn as string) || k.name === 'binaryPartial';
  return false;
}

/** Whether a run with this checkFinite setting checks the output of `node` (`isOutput`: a plan output). */
export function checksNode(setting: RunOptions['checkFinite'], node: Node, isOutput: boolean): boolean {
  const s = setting ?? true;
  return s === 'all' || (s === true && (isOutput || mayCreateNonFinite(node)));
}
