/**
 * join(L, R; on, kernel): equi-join on key positions, then a binary tile kernel on each matched pair.
 * The output key is L's key followed by R's key dimensions that are not joined, so every input key
 * position has a fixed place in the output key (which the gradient rule relies on).
 */
import { KernelError, PlanError } from '../../errors.js';
import { describeCall, kernelDef, type KernelCall } from '../../kernels/registry.js';
import type { Schema, TileDim } from '../schema.js';
import type { Attrs, OpDef } from './types.js';

export type JoinOn = readonly (readonly [number, number])[];

export interface JoinLayout {
  /** Output key bounds. */
  keys: number[];
  /** For each right key position, its position in the output key. */
  rightToOut: number[];
}

export function joinLayout(L: Schema, R: Schema, on: JoinOn): JoinLayout {
  const rightToOut = new Array<number>(R.keys.length).fill(-1);
  for (const [l, r] of on) rightToOut[r] = l;
  const keys = [...L.keys];
  R.keys.forEach((b, r) => { if (rightToOut[r] === -1) { rightToOut[r] = keys.length; keys.push(b); } });
  return { keys, rightToOut };
}

export function checkOn(op: string, L: Schema, R: Schema, on: unknown): JoinOn {
  if (!Array.isArray(on) || !on.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => Number.isInteger(x)))) {
    throw new PlanError(`${op}: attribute 'on' must be a list of [leftKeyPos, rightKeyPos] pairs, got ${JSON.stringify(on)}`);
  }
  const seenL = new Set<number>(), seenR = new Set<number>();
  for (const [l, r] of on as [number, number][]) {
    if (l < 0 || l >= L.keys.length) throw new PlanError(`${op}: left key position ${l} is outside the ${L.keys.length} key dimensions`);
    if (r < 0 || r >= R.keys.length) throw new PlanError(`${op}: right key position ${r} is outside the ${R.keys.length} key dimensions`);
    if (seenL.has(l) || seenR.has(r)) throw new PlanError(`${op}: key position used twice in 'on' ${JSON.stringify(on)}`);
    seenL.add(l); seenR.add(r);
    if (L.keys[l] !== R.keys[r]) throw new PlanError(`${op}: joined key dims have bounds ${L.keys[l]} (left ${l}) and ${R.keys[r]} (right ${r})`);
  }
  return on as JoinOn;
}

export function checkKernel(op: string, kernel: unknown, arity: number): KernelCall {
  const k = kernel as KernelCall;
  if (!k || typeof k.name !== 'string' || typeof k.attrs !== 'object' || k.attrs === null) throw new PlanError(`${op}: attribute 'kernel' must be {name, attrs}, got ${JSON.stringify(kernel)}`);
  const def = kernelDef(k.name);
  if (def.arity >= 0 && def.arity !== arity) throw new KernelError(k.name, `takes ${def.arity} tile(s) but ${op} gives it ${arity}`);
  return k;
}

/** Output tile dims of a kernel applied to inputs whose tile dims are given, with key positions remapped. */
export function kernelTileDims(kernel: KernelCall, inputs: readonly (readonly TileDim[])[], keyMaps: readonly (readonly number[])[]): TileDim[] {
  const shapes = inputs.map((dims) => dims.map((t) => t.size));
  return kernelDef(kernel.name).outDims(shapes, kernel.attrs).map((src) => {
    if ('size' in src) return { size: src.size, key: null, extent: src.size };
    const t = inputs[src.input]![src.dim]!;
    return t.key === null ? t : { ...t, key: keyMaps[src.input]![t.key]! };
  });
}

export const join: OpDef = {
  arity: 2,
  infer: ([L, R], attrs: Attrs) => {
    const on = checkOn('join', L!, R!, attrs.on);
    const kernel = checkKernel('join', attrs.kernel, 2);
    if (L!.dtype !== R!.dtype) throw new PlanError(`join: inputs have dtypes ${L!.dtype} and ${R!.dtype}`);
    const { keys, rightToOut } = joinLayout(L!, R!, on);
    const tile = kernelTileDims(kernel, [L!.tile, R!.tile], [L!.keys.map((_, i) => i), rightToOut]);
    return { keys, tile, dtype: L!.dtype };
  },
  describe: (attrs) => `on [${(attrs.on as JoinOn).map(([l, r]) => `${l}=${r}`).join(', ')}] ${describeCall(attrs.kernel as KernelCall)}`,
};
