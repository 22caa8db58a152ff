/**
 * Lowers an einsum over tensors to TRA: squeeze broadcast (size-1) dims, re-tile so each letter has one
 * tile size, take diagonals, sum out letters private to one operand, then contract operands pairwise —
 * each contraction a join on the shared letters' keys with a tile einsum, followed by an aggregation over
 * the contracted keys. The pair order is greedy: smallest intermediate first (as opt_einsum's greedy).
 */
import { EinsumShapeError } from '../../errors.js';
import { contract, diagonals, reduceTo, retileTo, squeeze, type Lettered } from '../../tra/lettered.js';
import { Tensor } from '../tensor.js';
import { resolveEinsum } from './resolve.js';

export interface EinsumOptions {
  /** Tile size per letter; letters not named take the first operand's tile for that letter. */
  tiles?: Readonly<Record<string, number>>;
}

export function einsum(spec: string, ...args: (Tensor | EinsumOptions)[]): Tensor {
  const last = args[args.length - 1];
  const opts: EinsumOptions = last !== undefined && !(last instanceof Tensor) ? (args.pop() as EinsumOptions) : {};
  const operands = args as Tensor[];
  operands.forEach((t, i) => { if (!(t instanceof Tensor)) throw new EinsumShapeError(spec, `operand ${i} is not a Tensor`, { operand: i }); });
  const r = resolveEinsum(spec, operands.map((t) => t.shape));
  if (operands.some((t) => t.dtype !== operands[0]!.dtype)) throw new EinsumShapeError(spec, `operands mix dtypes ${operands.map((t) => t.dtype).join(', ')}`);

  // One tile size per letter.
  const tileOf = new Map<string, number>();
  r.inputs.forEach((letters, i) => letters.forEach((c, d) => {
    const n = r.sizes.get(c)!, shape = operands[i]!.shape[d]!;
    if (shape === n && !tileOf.has(c)) tileOf.set(c, opts.tiles?.[c] ?? operands[i]!.tile[d]!);
  }));
  for (const [c, t] of Object.entries(opts.tiles ?? {})) {
    if (!Number.isInteger(t) || t < 1) throw new EinsumShapeError(spec, `tile size for '${c}' must be a positive integer, got ${t}`, { letter: c });
  }

  let ops: Lettered[] = operands.map((t, i) => {
    const node = retileTo(t.node, r.inputs[i]!.map((c) => tileOf.get(c) ?? 1));
    const diag = diagonals({ node, letters: r.inputs[i]! });
    const shape = diag.letters.map((c) => (t.shape[r.inputs[i]!.indexOf(c)]!));
    return squeeze(diag, diag.letters.map((c, d) => (shape[d] === 1 && r.sizes.get(c)! > 1 ? d : -1)).filter((d) => d >= 0));
  });

  const out = r.output;
  const neededBy = (skip: readonly Lettered[]) => new Set([...out, ...ops.filter((o) => !skip.includes(o)).flatMap((o) => o.letters)]);
  // Sum out letters that only one operand has and the output does not want.
  ops = ops.map((o) => {
    const need = neededBy([o]);
    return reduceTo(o, o.letters.filter((c) => need.has(c)));
  });

  while (ops.length > 1) {
    let best: [number, number] = [0, 1], bestSize = Infinity;
    for (let i = 0; i < ops.length; i++) for (let j = i + 1; j < ops.length; j++) {
      const need = neededBy([ops[i]!, ops[j]!]);
      const kept = new Set([...ops[i]!.letters, ...ops[j]!.letters].filter((c) => need.has(c)));
      const size = [...kept].reduce((p, c) => p * r.sizes.get(c)!, 1);
      if (size < bestSize) { bestSize = size; best = [i, j]; }
    }
    const [x, y] = [ops[best[0]]!, ops[best[1]]!];
    const need = neededBy([x, y]);
    const rest = ops.filter((o) => o !== x && o !== y);
    const final = rest.length === 0;
    ops = [...rest, contract(x, y, need, final ? out : null)];
  }
  const result = reduceTo(ops[0]!, out);
  return new Tensor(result.node);
}
