/** Typed constructors for IR nodes: what the front end, autodiff and optimizer passes build plans with. */
import type { KernelCall } from '../kernels/registry.js';
import { makeNode, type Node } from './node.js';
import type { AggFn } from './ops/aggregate.js';
import type { KeyAtom } from './ops/filter.js';
import type { JoinOn } from './ops/join.js';
import type { Relation } from './relation.js';
import type { Schema } from './schema.js';

export const input = (name: string, schema: Schema): Node => makeNode('input', [], { name, schema });
export const constant = (value: Relation): Node => makeNode('const', [], { value });
export const join = (a: Node, b: Node, on: JoinOn, kernel: KernelCall): Node =>
  makeNode('join', [a, b], { on: on.map(([l, r]) => [l, r]), kernel });
export const map = (x: Node, kernel: KernelCall): Node => makeNode('map', [x], { kernel });
export const aggregate = (xs: Node | readonly Node[], groupBy: readonly number[], fn: AggFn = 'sum'): Node =>
  makeNode('aggregate', Array.isArray(xs) ? xs : [xs as Node], { groupBy: [...groupBy], fn });
export const rekey = (x: Node, keys: readonly (number | null)[]): Node => makeNode('rekey', [x], { keys: [...keys] });
export const filter = (x: Node, predicate: readonly KeyAtom[]): Node => makeNode('filter', [x], { predicate: [...predicate] });
export const retile = (x: Node, start: readonly number[], shape: readonly number[], tile: readonly number[]): Node =>
  makeNode('retile', [x], { start: [...start], shape: [...shape], tile: [...tile] });
export const concat = (xs: readonly Node[], axis: number): Node => makeNode('concat', xs, { axis });

/** Identity join pairs over every key position of a relation with k key dims. */
export const allKeys = (k: number): [number, number][] => Array.from({ length: k }, (_, i) => [i, i]);
export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
