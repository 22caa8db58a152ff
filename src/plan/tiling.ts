/**
 * Tile-size pass (TRA -> TRA): chooses the tiling of the plan's inputs. Tile dimensions that must agree
 * (joined keys, an einsum letter's occurrences, a kernel's output dim and the input dim it comes from,
 * dims that aggregation, rekey, filter and concat carry along) are grouped into classes with union-find.
 * A class is free when it reaches an input and nothing fixes it (constants, retile targets, kernels that
 * need a whole axis in one tile such as softmax or reshape). Each free class is then given, greedily from
 * the largest, the tile size among {whole, 1/2, 1/S, 1/(2S) of its extent} that the optimizer prices
 * lowest, and the plan is rebuilt with re-tiled inputs. Approximation: classes are tried one at a time.
 */
import type { KernelCall } from '../kernels/registry.js';
import { kernelDef } from '../kernels/registry.js';
import { parseTileSpec } from '../kernels/tile_spec.js';
import { makeNode, type Node } from '../tra/node.js';
import type { JoinOn } from '../tra/ops/join.js';
import { Plan } from '../tra/plan.js';
import { denseSchema, denseShape, isDense, tileSizes } from '../tra/schema.js';

/** Kernels that need the listed axes whole in one tile. */
const WHOLE_AXIS: Record<string, (attrs: Readonly<Record<string, unknown>>, rank: number) => number[]> = {
  softmax: (a) => [a.axis as number], logsumexp: (a) => [a.axis as number],
  softmaxGrad: (a) => [a.axis as number], logsumexpGrad: (a) => [a.axis as number],
  reshape: (_a, r) => Array.from({ length: r }, (_, i) => i), reshapeGrad: (_a, r) => Array.from({ length: r }, (_, i) => i),
  im2col: (_a, r) => Array.from({ length: r }, (_, i) => i), col2im: (_a, r) => Array.from({ length: r }, (_, i) => i),
};

class UnionFind {
  private parent = new Map<string, string>();
  find(x: string): string {
    let p = this.parent.get(x) ?? x;
    if (p !== x) { p = this.find(p); this.parent.set(x, p); }
    return p;
  }
  union(a: string, b: string): void { const ra = this.find(a), rb = this.find(b); if (ra !== rb) this.parent.set(ra, rb); }
}

const v = (n: Node, d: number) => `${n.id}:${d}`;

/** Classes of tile dims that must share a tile size, which of them are fixed, and each input dim's class. */
function dimClasses(plan: Plan): { uf: UnionFind; fixed: Set<string>; inputs: Node[] } {
  const uf = new UnionFind(), fixed = new Set<string>(), inputs: Node[] = [];
  const fix = (n: Node, d: number) => fixed.add(v(n, d));
  for (const n of plan.nodes()) {
    const tied = (x: Node, key: number) => x.schema.tile.map((t, d) => (t.key === key ? d : -1)).filter((d) => d >= 0);
    switch (n.op) {
      case 'input': if (isDense(n.schema)) inputs.push(n); else n.schema.tile.forEach((_, d) => fix(n, d)); break;
      case 'const': case 'retile': n.schema.tile.forEach((_, d) => fix(n, d)); break;
      case 'aggregate': case 'rekey': case 'filter': case 'concat':
        for (const x of n.inputs) x.schema.tile.forEach((_, d) => uf.union(v(x, d), v(n, d)));
        break;
      case 'join': case 'map': {
        const k = n.attrs.kernel as KernelCall;
        const shapes = n.inputs.map((x) => x.schema.tile.map((t) => t.size));
        kernelDef(k.name).outDims(shapes, k.attrs).forEach((src, d) => { if ('input' in src) uf.union(v(n.inputs[src.input]!, src.dim), v(n, d)); else fix(n, d); });
        if (k.name === 'einsum') {
          const { inputs: specs } = parseTileSpec(k.attrs.spec as string);
          const first = new Map<string, string>();
          specs.forEach((ls, i) => [...ls].forEach((c, d) => { const x = v(n.inputs[i]!, d); const f = first.get(c); if (f) uf.union(f, x); else first.set(c, x); }));
        }
        const whole = WHOLE_AXIS[k.name];
        if (whole) n.inputs.forEach((x) => whole(k.attrs, x.schema.tile.length).forEach((d) => { if (d < x.schema.tile.length) fix(x, d); }));
        // Sparse (CSR) tiles keep the blocking they were built with: re-tiling one would have to rebuild it.
        for (const i of kernelDef(k.name).sparseInputs ?? []) n.inputs[i]!.schema.tile.forEach((_, d) => fix(n.inputs[i]!, d));
        if (n.op === 'join') {
          const [a, b] = n.inputs as [Node, Node];
          for (const [l, r] of n.attrs.on as JoinOn) for (const da of tied(a, l)) for (const db of tied(b, r)) uf.union(v(a, da), v(b, db));
          // Other binary kernels pair their tiles dim by dim (derivative kernels, 'second', elementwise).
          if (k.name !== 'einsum' && k.name !== 'binary' && k.name !== 'binaryPartial' && a.schema.tile.length === b.schema.tile.length) {
            a.schema.tile.forEach((_, d) => uf.union(v(a, d), v(b, d)));
          }
        }
        break;
      }
    }
  }
  return { uf, fixed, inputs };
}

/** The plan with its inputs re-tiled as `tiles` (by input name) says; other nodes rebuilt on top. */
export function withInputTiles(plan: Plan, tiles: ReadonlyMap<string, number[]>): Plan {
  const rebuilt = new Map<Node, Node>();
  const rebuild = (n: Node): Node => {
    const hit = rebuilt.get(n);
    if (hit) return hit;
    let out: Node;
    if (n.op === 'input' && tiles.has(n.attrs.name as string)) {
      out = makeNode('input', [], { name: n.attrs.name, schema: denseSchema(denseShape(n.schema), tiles.get(n.attrs.name as string)!, n.schema.dtype) });
    } else {
      const ins = n.inputs.map(rebuild);
      out = ins.every((x, i) => x === n.inputs[i]) ? n : makeNode(n.op, ins, { ...n.attrs });
    }
    rebuilt.set(n, out);
    return out;
  };
  return new Plan(plan.outputs.map(rebuild), plan.names);
}

/** Chooses input tile sizes that minimise `price` (the optimizer's predicted time of a candidate plan). */
export function chooseTiles(plan: Plan, sites: number, price: (p: Plan) => number): Plan {
  const { uf, fixed, inputs } = dimClasses(plan);
  const fixedRoots = new Set([...fixed].map((x) => uf.find(x)));
  // Free classes with their extent (the largest extent among their input dims) and members.
  const classes = new Map<string, { extent: number; members: [Node, number][] }>();
  for (const n of inputs) {
    const shape = denseShape(n.schema);
    shape.forEach((e, d) => {
      const root = uf.find(v(n, d));
      if (fixedRoots.has(root)) return;
      const c = classes.get(root) ?? { extent: 0, members: [] };
      c.extent = Math.max(c.extent, e);
      c.members.push([n, d]);
      classes.set(root, c);
    });
  }
  // Inputs sharing a name are one binding: every copy must get the same tiling.
  const tiles = new Map<string, number[]>(inputs.map((n) => [n.attrs.name as string, tileSizes(n.schema)]));
  let best = plan, bestPrice = price(plan);
  for (const c of [...classes.values()].sort((a, b) => b.extent - a.extent)) {
    const options = [...new Set([c.extent, Math.ceil(c.extent / 2), Math.ceil(c.extent / sites), Math.ceil(c.extent / (2 * sites))])].filter((t) => t >= 1);
    let pick: number | null = null;
    for (const t of options) {
      const trial = new Map([...tiles].map(([k, ts]) => [k, [...ts]]));
      for (const [n, d] of c.members) trial.get(n.attrs.name as string)![d] = Math.min(t, Math.max(1, denseShape(n.schema)[d]!));
      let candidate: Plan;
      try { candidate = withInputTiles(plan, trial); } catch { continue; } // a tiling some operator cannot take
      const p = price(candidate);
      if (p < bestPrice) { bestPrice = p; best = candidate; pick = t; }
    }
    if (pick !== null) for (const [n, d] of c.members) tiles.get(n.attrs.name as string)![d] = Math.min(pick, Math.max(1, denseShape(n.schema)[d]!));
  }
  return best;
}
