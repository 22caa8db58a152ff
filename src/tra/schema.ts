/**
 * A tensor relation's schema: key dimensions (each with a bound: keys lie in [0, bound)), tile dimensions
 * and a dtype. A tile dimension is either tied to a key dimension — the tile then covers
 * [key*size, key*size+size) of a global extent, the last tile ragged — or untied (whole in every tile).
 *
 * A relation is a *dense tensor* (canonical) when key dim d tiles tile dim d for every d: that is what
 * `fromDense`/`toDense` and the front end speak. Intermediate relations (a join's output with key
 * (i,k,j) and tile (i,j), say) need not be canonical.
 */
import { PlanError } from '../errors.js';
import type { DType } from '../tile.js';

export interface TileDim {
  /** Nominal size: the shape of every non-edge tile along this dimension. */
  readonly size: number;
  /** The key dimension that tiles this dimension, or null if every tile holds it whole. */
  readonly key: number | null;
  /** The global extent when tied (the last tile holds extent - (bound-1)*size); equals size when untied. */
  readonly extent: number;
}

export interface Schema {
  readonly keys: readonly number[];
  readonly tile: readonly TileDim[];
  readonly dtype: DType;
}

export function denseSchema(shape: readonly number[], tile: readonly number[], dtype: DType): Schema {
  if (tile.length !== shape.length) throw new PlanError(`tiling [${tile.join(',')}] has rank ${tile.length}, tensor shape [${shape.join(',')}] has rank ${shape.length}`);
  shape.forEach((n, d) => {
    if (!Number.isInteger(n) || n < 0) throw new PlanError(`tensor dimension ${d} is ${n}, expected a non-negative integer`);
    const t = tile[d]!;
    if (!Number.isInteger(t) || t < 1) throw new PlanError(`tile size for dimension ${d} is ${t}, expected a positive integer`);
  });
  return {
    keys: shape.map((n, d) => Math.max(1, Math.ceil(n / tile[d]!))),
    tile: shape.map((n, d) => ({ size: Math.min(tile[d]!, Math.max(n, 1)), key: d, extent: n })),
    dtype,
  };
}

/** The shape of the tile stored under `key`. */
export function tileShapeAt(schema: Schema, key: readonly number[]): number[] {
  return schema.tile.map((t) => (t.key === null ? t.size : Math.min(t.size, t.extent - key[t.key]! * t.size)));
}

export function isDense(schema: Schema): boolean {
  return schema.keys.length === schema.tile.length &&
    schema.tile.every((t, d) => t.key === d || (t.key === null && schema.keys[d] === 1));
}

export function requireDense(schema: Schema, what: string): void {
  if (!isDense(schema)) throw new PlanError(`${what} needs a dense tensor relation (key dim d tiling tile dim d), got ${schemaString(schema)}`);
}

export const denseShape = (s: Schema): number[] => s.tile.map((t) => t.extent);
export const tileSizes = (s: Schema): number[] => s.tile.map((t) => t.size);

export function schemaEquals(a: Schema, b: Schema): boolean {
  return a.dtype === b.dtype && a.keys.length === b.keys.length && a.keys.every((k, i) => k === b.keys[i]) &&
    a.tile.length === b.tile.length && a.tile.every((t, i) => t.size === b.tile[i]!.size && t.key === b.tile[i]!.key && t.extent === b.tile[i]!.extent);
}

/**
 * Two schemas describe the same tuples and tile shapes when they differ only in whether a whole tile dim
 * is tied to a bound-1 key dim (a reshape's output is untied, an einsum's tied): the same relation.
 */
export function schemaEquivalent(a: Schema, b: Schema): boolean {
  const norm = (s: Schema): Schema => ({ ...s, tile: s.tile.map((t) => (t.key !== null && s.keys[t.key] === 1 && t.size === t.extent ? { ...t, key: null } : t)) });
  return schemaEquals(norm(a), norm(b));
}

/** E.g. `keys[4,2] tile[32@0/100, 8] f32`: size@key/extent for tied dims. */
export function schemaString(s: Schema): string {
  const dims = s.tile.map((t) => (t.key === null ? `${t.size}` : `${t.size}@${t.key}/${t.extent}`));
  return `keys[${s.keys.join(',')}] tile[${dims.join(', ')}] ${s.dtype === 'float64' ? 'f64' : 'f32'}`;
}
