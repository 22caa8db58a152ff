/** Random operator compositions for the gradient property suite (structure fixed by a seed). */
import * as r from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import { randomTiling, rng, size } from './dense.js';

export interface Program { shapes: number[][]; tiles: number[][]; build: (ts: Tensor[]) => Tensor; ops: string[] }

const L = 'abcdefgh';

/** Draws a random program: the structure is fixed by the seed, so tracing and re-evaluation agree. */
export function randomProgram(seed: number): Program {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const shapes: number[][] = [], tiles: number[][] = [], ops: string[] = [];
  const param = (shape: number[]) => { shapes.push(shape); tiles.push(randomTiling(shape, rand)); return shapes.length - 1; };
  let shape = Array.from({ length: int(1, 3) }, () => int(1, 4));
  param(shape);
  const steps: ((cur: Tensor, ts: Tensor[]) => Tensor)[] = [];
  const n = int(2, 4);
  for (let s = 0; s < n; s++) {
    const rank = shape.length;
    const kinds = ['unary', 'binary', 'einsum', 'reuse', ...(rank > 1 ? ['reduce', 'transpose'] : []),
      ...(rank > 0 ? ['softmax', 'logsumexp', 'slice', 'concat', 'reshape'] : [])];
    const kind = pick(kinds);
    const cur = [...shape];
    if (kind === 'unary') {
      const f = pick(['tanh', 'sigmoid', 'square', 'expTanh', 'logOnePlusSq', 'sqrtOnePlusSq'] as const);
      ops.push(f);
      steps.push((x) => f === 'tanh' ? r.tanh(x) : f === 'sigmoid' ? r.sigmoid(x) : f === 'square' ? r.square(x)
        : f === 'expTanh' ? r.exp(r.tanh(x)) : f === 'logOnePlusSq' ? r.log(r.add(r.square(x), 1)) : r.sqrt(r.add(r.square(x), 1)));
    } else if (kind === 'binary') {
      // A parameter broadcast against the current value: a suffix of its dims, some set to 1.
      const k = int(0, rank);
      const pshape = cur.slice(rank - k).map((d) => (rand() < 0.3 ? 1 : d));
      const p = param(pshape);
      const f = pick(['add', 'sub', 'mul', 'div', 'maximum', 'pflip'] as const);
      ops.push(`${f}[${pshape}]`);
      steps.push((x, ts) => {
        const y = ts[p]!;
        return f === 'add' ? r.add(x, y) : f === 'sub' ? r.sub(y, x) : f === 'mul' ? r.mul(x, y)
          : f === 'div' ? r.div(x, r.add(r.square(y), 1)) : f === 'maximum' ? r.maximum(x, y) : r.mul(y, r.add(x, 0.5));
      });
    } else if (kind === 'einsum') {
      const inL = L.slice(0, rank);
      const extra = L.slice(rank, rank + int(0, 2));
      const pL = [...inL, ...extra].filter(() => rand() < 0.6);
      if (pL.length === 0 && inL + extra !== '') pL.push((inL + extra)[0]!);
      const all = [...new Set([...inL, ...pL])];
      const outL = all.filter(() => rand() < 0.6);
      const sizes = new Map<string, number>([...inL].map((c, i) => [c, cur[i]!]));
      for (const c of extra) sizes.set(c, int(1, 3));
      const p = param(pL.map((c) => sizes.get(c)!));
      const spec = `${inL},${pL.join('')}->${outL.join('')}`;
      ops.push(`einsum(${spec})`);
      steps.push((x, ts) => r.einsum(spec, x, ts[p]!));
      shape = outL.map((c) => sizes.get(c)!);
      continue;
    } else if (kind === 'reuse') {
      ops.push('x*tanh(x)');
      steps.push((x) => r.mul(x, r.tanh(x)));
    } else if (kind === 'reduce') {
      const axis = int(0, rank - 1), f = pick(['sum', 'mean', 'max'] as const), keep = rand() < 0.5;
      ops.push(`${f}(${axis},${keep})`);
      steps.push((x) => (f === 'sum' ? r.sum(x, axis, keep) : f === 'mean' ? r.mean(x, axis, keep) : r.max(x, axis, keep)));
      shape = keep ? cur.map((d, i) => (i === axis ? 1 : d)) : cur.filter((_, i) => i !== axis);
      continue;
    } else if (kind === 'transpose') {
      const perm = cur.map((_, i) => i).sort(() => rand() - 0.5);
      ops.push(`transpose(${perm})`);
      steps.push((x) => r.transpose(x, perm));
      shape = perm.map((i) => cur[i]!);
      continue;
    } else if (kind === 'softmax') {
      const axis = int(0, rank - 1), f = pick(['softmax', 'logSoftmax'] as const);
      ops.push(`${f}(${axis})`);
      steps.push((x) => (f === 'softmax' ? r.softmax(x, axis) : r.logSoftmax(x, axis)));
    } else if (kind === 'logsumexp') {
      const axis = int(0, rank - 1);
      ops.push(`logsumexp(${axis})`);
      steps.push((x) => r.logsumexp(x, axis));
      shape = cur.filter((_, i) => i !== axis);
      continue;
    } else if (kind === 'slice') {
      const start = cur.map((d) => int(0, d - 1)), sz = cur.map((d, i) => int(1, d - start[i]!));
      ops.push(`slice(${start};${sz})`);
      steps.push((x) => r.slice(x, start, sz));
      shape = sz;
      continue;
    } else if (kind === 'concat') {
      const axis = int(0, rank - 1);
      const pshape = cur.map((d, i) => (i === axis ? int(1, 3) : d));
      const p = param(pshape);
      ops.push(`concat(${axis},[${pshape}])`);
      steps.push((x, ts) => r.concat([x, ts[p]!], axis));
      shape = cur.map((d, i) => (i === axis ? d + pshape[axis]! : d));
      continue;
    } else {
      const total = size(cur);
      ops.push(`reshape([${total}])`);
      steps.push((x) => r.reshape(x, [total], { tile: [int(1, total)] }));
      shape = [total];
      continue;
    }
  }
  const w = param([...shape]);
  ops.push('sum(out*w)');
  return {
    shapes, tiles, ops,
    build: (ts) => r.sum(r.mul(steps.reduce((x, step) => step(x, ts), ts[0]!), ts[w]!)),
  };
}

