/**
 * The tile-level einsum spec used inside kernels: explicit output, letters only, no ellipsis, e.g.
 * "ik,kj->ij". (The user-facing einsum grammar, with ellipsis and implicit output, lives in
 * src/frontend/einsum; it lowers to kernels that use this simple form.)
 */
import { KernelError } from '../errors.js';

export interface TileSpec { inputs: string[]; output: string }

const cache = new Map<string, TileSpec>();

export function parseTileSpec(spec: string): TileSpec {
  const hit = cache.get(spec);
  if (hit) return hit;
  const m = /^([a-zA-Z]*(?:,[a-zA-Z]*)*)->([a-zA-Z]*)$/.exec(spec);
  if (!m) throw new KernelError('einsum', `tile spec ${JSON.stringify(spec)} must look like "ab,bc->ac" (letters only, explicit output)`, { spec });
  const inputs = m[1]!.split(',');
  const output = m[2]!;
  const seen = new Set(inputs.join(''));
  for (const c of output) if (!seen.has(c)) throw new KernelError('einsum', `output letter '${c}' of ${JSON.stringify(spec)} appears in no input`, { spec });
  if (new Set(output).size !== output.length) throw new KernelError('einsum', `output of ${JSON.stringify(spec)} repeats a letter`, { spec });
  const parsed = { inputs, output };
  cache.set(spec, parsed);
  return parsed;
}

/** Size of every letter, checking that all occurrences agree. */
export function letterSizes(spec: string, shapes: readonly (readonly number[])[]): Map<string, number> {
  const { inputs } = parseTileSpec(spec);
  if (shapes.length !== inputs.length) throw new KernelError('einsum', `${JSON.stringify(spec)} takes ${inputs.length} tiles, got ${shapes.length}`, { spec });
  const sizes = new Map<string, number>();
  inputs.forEach((letters, i) => {
    const shape = shapes[i]!;
    if (shape.length !== letters.length) throw new KernelError('einsum', `${JSON.stringify(spec)}: tile ${i} has rank ${shape.length}, spec gives '${letters}'`, { spec, operand: i });
    [...letters].forEach((c, d) => {
      const prev = sizes.get(c);
      if (prev !== undefined && prev !== shape[d]) throw new KernelError('einsum', `${JSON.stringify(spec)}: letter '${c}' is ${prev} in one place and ${shape[d]} in tile ${i}`, { spec, letter: c, sizes: [prev, shape[d]] });
      sizes.set(c, shape[d]!);
    });
  });
  return sizes;
}
