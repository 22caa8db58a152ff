/**
 * Tensor relations: a schema plus tuples (integer key tuple -> dense tile). Missing keys are zero tiles,
 * so sparse relations (an edge list, an embedding table's touched rows, a block-sparse matrix) are the
 * same type as dense ones. Tuples are validated on insertion: key arity and bounds, tile shape.
 */
import { KeyError, ShapeError, TileShapeError } from '../errors.js';
import { castTile, copyBox, makeTile, sameShape, sizeOf, type DType, type Tile, type TileData } from '../tile.js';
import { denseSchema, denseShape, requireDense, tileShapeAt, type Schema } from './schema.js';

export interface Tuple { readonly key: readonly number[]; readonly tile: Tile }

export const keyString = (key: readonly number[]): string => key.join(',');

export class Relation {
  private readonly map = new Map<string, Tuple>();
  constructor(readonly schema: Schema, readonly name = 'relation') {}

  get size(): number { return this.map.size; }
  tuples(): IterableIterator<Tuple> { return this.map.values(); }
  get(key: readonly number[]): Tile | undefined { return this.map.get(keyString(key))?.tile; }
  has(key: readonly number[]): boolean { return this.map.has(keyString(key)); }

  checkKey(key: readonly number[]): void {
    const b = this.schema.keys;
    if (key.length !== b.length) throw new KeyError(this.name, key, `has arity ${key.length}, the schema has ${b.length} key dimensions`, b);
    key.forEach((k, i) => {
      if (!Number.isInteger(k) || k < 0 || k >= b[i]!) throw new KeyError(this.name, key, `is outside the schema in key dimension ${i}`, b);
    });
  }

  /** Adds a tuple, validating key and tile shape. `replace` allows overwriting (otherwise a duplicate key is an error). */
  set(key: readonly number[], tile: Tile, replace = false): void {
    this.checkKey(key);
    const expected = tileShapeAt(this.schema, key);
    if (!sameShape(expected, tile.shape)) throw new TileShapeError(this.name, key, expected, tile.shape);
    const ks = keyString(key);
    if (!replace && this.map.has(ks)) throw new KeyError(this.name, key, 'occurs twice');
    this.map.set(ks, { key: [...key], tile: castTile(tile, this.schema.dtype) });
  }

  /** Tiles a dense row-major tensor. `tile` defaults to one tile holding everything. */
  static fromDense(data: ArrayLike<number>, shape: readonly number[], opts: { tile?: readonly number[]; dtype?: DType; name?: string } = {}): Relation {
    const dtype = opts.dtype ?? 'float32';
    if (data.length !== sizeOf(shape)) throw new ShapeError(`${opts.name ?? 'tensor'}: ${data.length} values cannot fill shape [${shape.join(',')}]`, { shape: [...shape] });
    const schema = denseSchema(shape, opts.tile ?? shape.map((n) => Math.max(n, 1)), dtype);
    const rel = new Relation(schema, opts.name);
    const src = makeTile(shape, dtype, data);
    // One tile holding everything shares the caller's array (tiles are immutable by convention).
    if (schema.keys.every((b) => b === 1)) { rel.set(shape.map(() => 0), src); return rel; }
    const sizes = schema.tile.map((t) => t.size);
    forEachKey(schema.keys, (key) => {
      const shp = tileShapeAt(schema, key);
      const t = makeTile(shp, dtype);
      copyBox(src, key.map((k, d) => k * sizes[d]!), t, shp.map(() => 0), shp);
      rel.set(key, t);
    });
    return rel;
  }

  /** Assembles the dense tensor this (canonical) relation tiles; missing tuples read as zeros. */
  toDense(dtype: DType = this.schema.dtype): { shape: number[]; data: TileData } {
    requireDense(this.schema, `${this.name}.toDense`);
    const shape = denseShape(this.schema);
    const out = makeTile(shape, dtype);
    const sizes = this.schema.tile.map((t) => t.size);
    for (const { key, tile } of this.tuples()) {
      copyBox(tile, tile.shape.map(() => 0), out, key.map((k, d) => k * sizes[d]!), tile.shape);
    }
    return { shape, data: out.data };
  }
}

/** Iterates every key in the box [0, bounds). */
export function forEachKey(bounds: readonly number[], fn: (key: number[]) => void): void {
  if (bounds.some((b) => b === 0)) return;
  const key = new Array<number>(bounds.length).fill(0);
  for (;;) {
    fn([...key]);
    let d = bounds.length - 1;
    for (; d >= 0; d--) { if (++key[d]! < bounds[d]!) break; key[d] = 0; }
    if (d < 0) return;
  }
}
