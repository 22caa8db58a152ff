/**
 * The optimizer: TRA plan -> IA plan for S sites. A dynamic program over the plan chooses, for every
 * node, the placement of its output and how to get there (co-partitioned or broadcast joins, local or
 * two-phase aggregation, exchanges), minimising predicted time = busiest-site flops / flop rate + bytes
 * moved / byte rate, subject to a per-site memory budget. Exact on trees; on DAGs a node used by several
 * consumers is costed once per consumer (an over-estimate) but built once per placement it is needed in.
 *
 * Named passes, each can be switched off (the result must not change, only the cost):
 *  - cse:                  merges nodes computing the same thing (cse.ts);
 *  - reassociate:          re-orders trees of contractions by flops (reassociate.ts);
 *  - tileSizes:            chooses the inputs' tilings by the same cost model (tiling.ts);
 *  - placement:            off = everything on site 0 (serial);
 *  - broadcastJoins:       off = joins only co-partitioned on a join key (or all on one site);
 *  - twoPhaseAggregation:  off = aggregations only over inputs already partitioned by a group-by key.
 */
import { PlanError } from '../errors.js';
import { range } from '../tra/build.js';
import { makeNode, type Node } from '../tra/node.js';
import { joinLayout, type JoinOn } from '../tra/ops/join.js';
import { OPS } from '../tra/ops/index.js';
import type { Plan } from '../tra/plan.js';
import { forEachKey } from '../tra/relation.js';
import { schemaString, tileShapeAt } from '../tra/schema.js';
import { bytesPerSite, dtypeBytes, exchangeBytes, nodeFlops, relationBytes } from './cost.js';
import { KEY_LIMIT, keyAnalysis } from './keys.js';
import { cse } from './cse.js';
import { reassociate } from './reassociate.js';
import { chooseTiles } from './tiling.js';
import type { ExchangeKind, IAPlan, IAStep, StepCost } from './ia.js';
import { partitioned, placementString, REPLICATED, SINGLE, siteOf, type Placement } from './placement.js';

export const PASSES = ['cse', 'reassociate', 'tileSizes', 'placement', 'broadcastJoins', 'twoPhaseAggregation'] as const;
export type PassName = (typeof PASSES)[number];

export interface OptimizeOptions {
  sites: number;
  /** Passes to switch off (all on by default). */
  disable?: readonly PassName[];
  /** Bytes each site may hold for one step (its inputs and output); plans that cannot fit fail before running. */
  memoryBudget?: number;
  /** Per-site kernel throughput, exchange bandwidth and fixed cost of one kernel call, to weigh flops, bytes and tile counts. */
  flopRate?: number;
  byteRate?: number;
  callOverhead?: number;
  /** Fraction of each input's key space present (sparse inputs), by input name; default 1. */
  density?: Readonly<Record<string, number>>;
  /** Testing: pick a random feasible choice everywhere instead of the cheapest (random placements). */
  random?: () => number;
}

/** A way to produce a relation at placement `at`, its predicted time, and how to build its steps. */
interface Choice { cost: number; at: Placement; make: () => IAStep }

const prodOf = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

export function optimize(input: Plan, opts: OptimizeOptions): IAPlan {
  const S = opts.sites;
  if (!Number.isInteger(S) || S < 1) throw new PlanError(`optimize: sites must be a positive integer, got ${S}`);
  const on = (p: PassName) => !(opts.disable ?? []).includes(p);
  let plan = on('cse') ? cse(input) : input;
  if (on('reassociate')) plan = reassociate(plan);
  if (on('tileSizes') && !opts.random) {
    const inner: OptimizeOptions = { ...opts, disable: [...(opts.disable ?? []), 'cse', 'reassociate', 'tileSizes'] };
    plan = chooseTiles(plan, S, (p) => { try { return optimize(p, inner).predictedTime; } catch { return Infinity; } });
  }
  const FLOPS = opts.flopRate ?? 2e10, BYTES = opts.byteRate ?? 2e9, budget = opts.memoryBudget ?? Infinity;
  const steps: IAStep[] = [];
  const density = (n: Node): number => (n.op === 'input' ? opts.density?.[n.attrs.name as string] ?? 1 : 1);
  const CALL = opts.callOverhead ?? 2e-5;
  const time = (c: StepCost) => c.flops / FLOPS + c.bytes / BYTES + (c.calls ?? 0) * CALL;
  const keysOf = keyAnalysis(density);
  const maxPerSite = (n: Node, p: Placement) => Math.max(...bytesPerSite(n.schema, keysOf(n), p, S, density(n)));
  const share = (p: Placement) => (p.kind === 'partitioned' ? S : 1);

  const candidates = (n: Node): Placement[] => {
    if (S === 1 || !on('placement')) return [SINGLE];
    return [SINGLE, REPLICATED, ...n.schema.keys.map((b, d) => (b >= 2 ? partitioned(d) : null)).filter((p): p is Placement => p !== null)];
  };

  const built = new Map<string, IAStep>();
  const addStep = (key: string, s: Omit<IAStep, 'id'>): IAStep => {
    const hit = built.get(key);
    if (hit) return hit;
    const step = { ...s, id: steps.length } as IAStep;
    steps.push(step); built.set(key, step);
    return step;
  };
  const failures: string[] = [];
  const fits = (n: Node, memory: number): boolean => {
    if (memory <= budget) return true;
    failures.push(`${n.op} ${OPS[n.op].describe(n.attrs)} (${schemaString(n.schema)}) needs ${Math.round(memory)} bytes on a site`);
    return false;
  };

  /** The cheapest choice, or (testing) a random one. */
  const pick = (options: readonly (Choice | null)[]): Choice | null => {
    const ok = options.filter((o): o is Choice => o !== null);
    if (ok.length === 0) return null;
    if (opts.random) return ok[Math.floor(opts.random() * ok.length)]!;
    return ok.reduce((a, b) => (b.cost < a.cost ? b : a));
  };

  const bestMemo = new Map<string, Choice | null>();
  /** The cheapest way to compute n with output placement p (null when impossible). */
  function best(n: Node, p: Placement): Choice | null {
    const key = `${n.id}|${placementString(p)}`;
    if (bestMemo.has(key)) return bestMemo.get(key)!;
    bestMemo.set(key, null); // cycle guard (plans are DAGs)
    const min = pick(implementations(n, p));
    bestMemo.set(key, min);
    return min;
  }

  /** n's relation at placement `to`, computed at whichever placement plus an exchange is cheapest. */
  const needMemo = new Map<string, Choice | null>();
  function need(n: Node, to: Placement): Choice | null {
    const key = `${n.id}|${placementString(to)}`;
    if (!needMemo.has(key)) needMemo.set(key, pick(candidates(n).map((from) => via(n, from, to))));
    return needMemo.get(key)!;
  }

  /** n computed at `from`, then exchanged to `to`. */
  function via(n: Node, from: Placement, to: Placement): Choice | null {
    const b = best(n, from);
    if (!b) return null;
    if (placementString(from) === placementString(to)) return b;
    {
      const bytes = exchangeBytes(n.schema, keysOf(n), from, to, S, density(n));
      const memory = maxPerSite(n, to);
      if (!fits(n, memory)) return null;
      const c: StepCost = { flops: 0, bytes, memory };
      return { cost: b.cost + time(c), at: to, make: () => addStep(`${n.id}|${placementString(from)}->${placementString(to)}`, { kind: 'exchange', node: n, inputs: [b.make()], placement: to, exchange: exchangeKind(from, to), cost: c }) };
    }
  }

  /** A local step evaluating n on inputs at the given placements. */
  function local(n: Node, p: Placement, ins: readonly (Choice | null)[], extra: Partial<IAStep> = {}, flopsOverride?: number): Choice | null {
    if (ins.some((c) => c === null)) return null;
    // A site holds the step's inputs and its output at once.
    const memory = maxPerSite(n, p) + n.inputs.reduce((s, x, i) => s + maxPerSite(x, ins[i]!.at), 0);
    if (!fits(n, memory)) return null;
    const calls = n.op === 'join' || n.op === 'map' ? (keysOf(n)?.length ?? prodOf(n.schema.keys)) / share(p) : 0;
    const c: StepCost = { flops: (flopsOverride ?? nodeFlops(n)) / share(p), bytes: n.op === 'input' || n.op === 'const' ? loadBytes(n, p) : 0, memory, calls };
    const cost = ins.reduce((s, x) => s + x!.cost, 0) + time(c);
    return { cost, at: p, make: () => addStep(`${n.id}|${placementString(p)}${extra.partial ? '|partial' : ''}`, { kind: 'local', node: n, inputs: ins.map((x) => x!.make()), placement: p, cost: c, ...extra }) };
  }

  const loadBytes = (n: Node, p: Placement) => (S === 1 ? 0 : relationBytes(n.schema, keysOf(n), density(n)) * (p.kind === 'replicated' ? S : 1));

  function implementations(n: Node, p: Placement): (Choice | null)[] {
    switch (n.op) {
      case 'input': case 'const': return [local(n, p, [])];
      case 'map': case 'filter': return [local(n, p, [need(n.inputs[0]!, p)])];
      case 'rekey': {
        const keys = n.attrs.keys as (number | null)[];
        if (p.kind !== 'partitioned') return [local(n, p, [need(n.inputs[0]!, p)])];
        const from = p.dims.map((d) => keys[d]);
        return from.some((d) => d === null || d === undefined) ? [] : [local(n, p, [need(n.inputs[0]!, partitioned(...(from as number[])))])];
      }
      case 'retile': case 'concat':
        return p.kind === 'partitioned' ? [] : [local(n, p, n.inputs.map((x) => need(x, p)))];
      case 'join': return joinOptions(n, p);
      case 'aggregate': return aggregateOptions(n, p);
    }
  }

  function joinOptions(n: Node, p: Placement): (Choice | null)[] {
    const [a, b] = n.inputs as [Node, Node];
    if (p.kind !== 'partitioned') return [local(n, p, [need(a, p), need(b, p)])];
    const o = p.dims[0]!;
    const onPairs = n.attrs.on as JoinOn;
    const { rightToOut } = joinLayout(a.schema, b.schema, onPairs);
    const kL = a.schema.keys.length;
    const out: (Choice | null)[] = [];
    const pair = onPairs.find(([l]) => l === o);
    if (pair) out.push(local(n, p, [need(a, partitioned(pair[0])), need(b, partitioned(pair[1]))]));
    if (on('broadcastJoins')) {
      if (o < kL) out.push(local(n, p, [need(a, partitioned(o)), need(b, REPLICATED)]));
      const q = rightToOut.indexOf(o);
      if (q >= 0 && (o >= kL || pair)) out.push(local(n, p, [need(a, REPLICATED), need(b, partitioned(q))]));
    }
    return out;
  }

  function aggregateOptions(n: Node, p: Placement): (Choice | null)[] {
    const groupBy = n.attrs.groupBy as number[];
    const out: (Choice | null)[] = [];
    if (p.kind === 'partitioned') out.push(local(n, p, n.inputs.map((x) => need(x, partitioned(groupBy[p.dims[0]!]!)))));
    else out.push(local(n, p, n.inputs.map((x) => need(x, p))));
    if (on('twoPhaseAggregation') && S > 1 && p.kind !== 'replicated') {
      // Partial aggregates where the inputs are, then one exchange of the (smaller) partials, then combine.
      const placed = n.inputs.map((x) => pick(candidates(x).filter((at) => at.kind === 'partitioned').map((at) => best(x, at))));
      if (placed.every((x) => x !== null)) out.push(twoPhase(n, p, placed.map((c) => ({ at: c!.at, c: c! }))));
    }
    return out;
  }

  function twoPhase(n: Node, p: Placement, placed: { at: Placement; c: Choice }[]): Choice | null {
    const groupBy = n.attrs.groupBy as number[];
    const scattered: Placement = { kind: 'scattered' };
    // Which groups each site holds a partial for (dense inputs), and the bytes of each partial.
    const perSite = new Array<number>(S).fill(0);
    let moved = 0;
    const groupBytes = (g: number[]) => prodOf(tileShapeAt(n.schema, g)) * dtypeBytes(n.schema);
    const seen = new Set<string>();
    const tooBig = n.inputs.some((x) => !keysOf(x) && prodOf(x.schema.keys) > KEY_LIMIT);
    if (tooBig) {
      // Estimate: every site holds a partial for every group, and all but one share moves.
      const out = relationBytes(n.schema, null);
      perSite.fill(out); moved = out * (S - 1);
    } else n.inputs.forEach((x, i) => (keysOf(x) ?? allKeys(x)).forEach((k) => {
      const s = siteOf(k, placed[i]!.at, S), g = groupBy.map((d) => k[d]!), tag = `${s}|${g.join(',')}`;
      if (seen.has(tag)) return;
      seen.add(tag);
      const bytes = groupBytes(g);
      perSite[s]! += bytes;
      if (siteOf(g, p, S) !== s) moved += bytes;
    }));
    const partialCost: StepCost = { flops: n.inputs.reduce((s, x) => s + prodOf(x.schema.keys) * prodOf(x.schema.tile.map((t) => t.size)), 0) / S, bytes: 0, memory: Math.max(...perSite) };
    const exCost: StepCost = { flops: 0, bytes: moved, memory: maxPerSite(n, p) };
    const final = makeNode('aggregate', [n], { groupBy: range(groupBy.length), fn: n.attrs.fn });
    const finalCost: StepCost = { flops: relationBytes(n.schema, keysOf(n)) / dtypeBytes(n.schema) * S / share(p), bytes: 0, memory: maxPerSite(n, p) };
    if (!fits(n, partialCost.memory) || !fits(n, exCost.memory)) return null;
    const cost = placed.reduce((s, x) => s + x.c.cost, 0) + time(partialCost) + time(exCost) + time(finalCost);
    return {
      cost, at: p,
      make: () => {
        const partial = addStep(`${n.id}|partial`, { kind: 'local', node: n, inputs: placed.map((x) => x.c.make()), placement: scattered, partial: true, cost: partialCost });
        const moved = addStep(`${n.id}|partial->${placementString(p)}`, { kind: 'exchange', node: n, inputs: [partial], placement: p, exchange: exchangeKind(scattered, p), cost: exCost });
        return addStep(`${n.id}|${placementString(p)}|final`, { kind: 'local', node: final, inputs: [moved], placement: p, cost: finalCost });
      },
    };
  }

  const chosen = plan.outputs.map((o) => {
    const min = pick(candidates(o).map((p) => best(o, p)));
    if (!min) {
      throw new PlanError(`optimize: no placement of the plan fits the memory budget of ${budget} bytes per site on ${S} site(s): ${[...new Set(failures)].slice(0, 3).join('; ')}`, { budget, sites: S });
    }
    return min;
  });
  const outputs = chosen.map((c) => c.make());
  const everywhere: readonly PassName[] = ['cse', 'reassociate', 'tileSizes'];
  const passes = PASSES.filter((p) => on(p) && (S > 1 || everywhere.includes(p)) && !(p === 'tileSizes' && opts.random));
  return { sites: S, steps, outputs, names: plan.names, passes, predictedTime: chosen.reduce((t, c) => t + c.cost, 0) };
}

function allKeys(n: Node): number[][] {
  const out: number[][] = [];
  forEachKey(n.schema.keys, (k) => out.push(k));
  return out;
}

function exchangeKind(from: Placement, to: Placement): ExchangeKind {
  if (from.kind === 'replicated') return 'select';
  if (to.kind === 'replicated') return from.kind === 'single' ? 'broadcast' : 'allgather';
  if (to.kind === 'single') return 'gather';
  return from.kind === 'single' ? 'scatter' : 'shuffle';
}
