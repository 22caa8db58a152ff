/**
 * Tensor: the front end's handle on a dense tensor relation node (key dim d tiles tensor dim d). Ops on
 * tensors build TRA plans; nothing runs until a plan is run (`run`, or the convenience readers here,
 * which use the reference executor).
 */
import { ShapeError } from '../errors.js';
import { runSync } from '../exec/reference/index.js';
import type { Bindings, RunOptions } from '../exec/executor.js';
import * as tra from '../tra/build.js';
import type { Node } from '../tra/node.js';
import { Plan } from '../tra/plan.js';
import { Relation } from '../tra/relation.js';
import { denseSchema, denseShape, requireDense, tileSizes } from '../tra/schema.js';
import type { DType, TileData } from '../tile.js';

export type NestedArray = number | NestedArray[];

export class Tensor {
  constructor(readonly node: Node) { requireDense(node.schema, 'Tensor'); }
  get shape(): number[] { return denseShape(this.node.schema); }
  /** Tile sizes: the tiling of this tensor's relation. */
  get tile(): number[] { return tileSizes(this.node.schema); }
  get dtype(): DType { return this.node.schema.dtype; }
  get rank(): number { return this.node.schema.keys.length; }

  /** Evaluates (reference executor) and returns the row-major values. Inputs must be bound. */
  dataSync(bindings: Bindings = {}, opts?: RunOptions): TileData {
    return runSync(new Plan([this.node]), bindings, opts)[0]!.toDense().data;
  }
  toArray(bindings: Bindings = {}, opts?: RunOptions): NestedArray {
    return nest(Array.from(this.dataSync(bindings, opts)), this.shape);
  }
  item(bindings: Bindings = {}): number {
    if (this.shape.reduce((a, b) => a * b, 1) !== 1) throw new ShapeError(`item() needs a one-element tensor, got shape [${this.shape}]`);
    return this.dataSync(bindings)[0]!;
  }
}

function nest(flat: number[], shape: readonly number[]): NestedArray {
  if (shape.length === 0) return flat[0]!;
  const [n, ...rest] = shape, step = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), rest));
}

function flatten(x: NestedArray, shape: number[] = [], depth = 0, out: number[] = []): { shape: number[]; data: number[] } {
  if (typeof x === 'number') {
    if (depth !== shape.length && shape.length > 0) throw new ShapeError('ragged nested array: a number where a list was expected');
    out.push(x);
    return { shape, data: out };
  }
  if (!Array.isArray(x)) throw new ShapeError(`tensor data must be numbers or nested arrays, got ${typeof x}`);
  if (shape.length === depth) shape.push(x.length);
  else if (shape[depth] !== x.length) throw new ShapeError(`ragged nested array: length ${x.length} where ${shape[depth]} was expected at depth ${depth}`);
  for (const y of x) flatten(y, shape, depth + 1, out);
  return { shape, data: out };
}

export interface TensorOptions { shape?: readonly number[]; dtype?: DType; tile?: readonly number[]; name?: string }

/** A constant tensor from nested arrays or flat data (with `shape`), tiled by `tile` (default: one tile). */
export function tensor(values: NestedArray | ArrayLike<number>, opts: TensorOptions = {}): Tensor {
  let shape: readonly number[], data: ArrayLike<number>;
  if (typeof values === 'number' || Array.isArray(values) && (values.length === 0 || Array.isArray(values[0]) || opts.shape === undefined)) {
    const f = flatten(values as NestedArray);
    shape = opts.shape ?? f.shape; data = f.data;
  } else {
    data = values as ArrayLike<number>;
    shape = opts.shape ?? [data.length];
  }
  return new Tensor(tra.constant(Relation.fromDense(data, shape, { tile: opts.tile, dtype: opts.dtype, name: opts.name ?? 'const' })));
}

/** Wraps a (dense) relation as a constant tensor. */
export function fromRelation(rel: Relation): Tensor {
  return new Tensor(tra.constant(rel));
}

/** A named placeholder bound when the plan runs. */
export function input(name: string, shape: readonly number[], opts: { dtype?: DType; tile?: readonly number[] } = {}): Tensor {
  return new Tensor(tra.input(name, denseSchema(shape, opts.tile ?? shape.map((n) => Math.max(n, 1)), opts.dtype ?? 'float32')));
}

/** A plan computing the given tensors, named by the object's keys. */
export function toPlan(outputs: Record<string, Tensor> | Tensor): Plan {
  if (outputs instanceof Tensor) return new Plan([outputs.node], ['out']);
  return new Plan(Object.values(outputs).map((t) => t.node), Object.keys(outputs));
}
