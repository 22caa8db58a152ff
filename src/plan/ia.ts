/**
 * The implementation algebra (IA): the physical plan. Each step either evaluates a TRA operator locally
 * on every site that holds data (`local`), or moves a relation between sites (`exchange`). Steps carry
 * the placement of their output and their predicted cost, so a plan explains itself.
 */
import type { Node } from '../tra/node.js';
import { OPS } from '../tra/ops/index.js';
import { placementString, type Placement } from './placement.js';

/** select: each site keeps its share of a replicated relation (no messages). */
export type ExchangeKind = 'shuffle' | 'broadcast' | 'allgather' | 'gather' | 'scatter' | 'select';

export interface StepCost {
  /** Flops on the busiest site. */
  flops: number;
  /** Bytes this step moves between sites (exchanges) or loads from the coordinator (inputs). */
  bytes: number;
  /** Bytes of this step's output held on the fullest site. */
  memory: number;
  /** Kernel calls on the busiest site (each has a fixed cost, so many tiny tiles are not free). */
  calls?: number;
}

export interface IAStep {
  readonly id: number;
  readonly kind: 'local' | 'exchange';
  /** local: the operator evaluated on each site's data; exchange: the node whose relation moves. */
  readonly node: Node;
  readonly inputs: readonly IAStep[];
  readonly placement: Placement;
  readonly exchange?: ExchangeKind;
  /** A local aggregation that is the first phase of a two-phase aggregation. */
  readonly partial?: boolean;
  readonly cost: StepCost;
}

export interface IAPlan {
  readonly sites: number;
  readonly steps: readonly IAStep[];
  readonly outputs: readonly IAStep[];
  readonly names: readonly string[];
  /** Optimizer passes that ran. */
  readonly passes: readonly string[];
  /** The optimizer's predicted time in seconds (on DAGs, shared work is counted once per consumer). */
  readonly predictedTime: number;
}

export function totals(p: IAPlan): { flops: number; bytesMoved: number; bytesLoaded: number; peakMemory: number } {
  let flops = 0, bytesMoved = 0, bytesLoaded = 0, peakMemory = 0;
  for (const s of p.steps) {
    flops += s.cost.flops;
    if (s.kind === 'exchange') bytesMoved += s.cost.bytes; else bytesLoaded += s.cost.bytes;
    peakMemory = Math.max(peakMemory, s.cost.memory);
  }
  return { flops, bytesMoved, bytesLoaded, peakMemory };
}

const fmt = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);

export function explainIA(p: IAPlan): string {
  const id = (s: IAStep) => `@${s.id}`;
  const lines = p.steps.map((s) => {
    const what = s.kind === 'exchange'
      ? `${s.exchange}(${s.inputs.map(id).join(', ')})`
      : `${s.partial ? 'partial ' : ''}${s.node.op}(${s.inputs.map(id).join(', ')}) ${OPS[s.node.op].describe(s.node.attrs)}`;
    const cost = `flops/site ${fmt(s.cost.flops)}  ${s.kind === 'exchange' ? 'moved' : 'loaded'} ${fmt(s.cost.bytes)}B  mem/site ${fmt(s.cost.memory)}B`;
    return { head: `${id(s)} = ${what}`, tail: `[${placementString(s.placement)}]  ${cost}` };
  });
  const w = Math.max(...lines.map((l) => l.head.length));
  const t = totals(p);
  return [
    `IA plan on ${p.sites} site(s); passes: ${p.passes.join(', ') || 'none'}`,
    ...lines.map((l) => `${l.head.padEnd(w)}  ${l.tail}`),
    `return ${p.outputs.map((s, i) => `${p.names[i]}=${id(s)}`).join(', ')}`,
    `predicted: flops ${fmt(t.flops)}, bytes moved ${fmt(t.bytesMoved)}B, bytes loaded ${fmt(t.bytesLoaded)}B, peak memory/site ${fmt(t.peakMemory)}B`,
  ].join('\n');
}

