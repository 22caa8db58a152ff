/**
 * How IA plans and tiles cross thread boundaries: plans as JSON (plans are data), tiles as raw
 * ArrayBuffers in transfer lists (moved, not copied or JSON-encoded).
 */
import type { IAPlan } from '../../plan/ia.js';
import type { Placement } from '../../plan/placement.js';
import { topoSort, type Node } from '../../tra/node.js';
import { Plan, type PlanJSON } from '../../tra/plan.js';
import type { Tuple } from '../../tra/relation.js';
import { makeTile, type DType } from '../../tile.js';

export interface StepJSON { id: number; kind: 'local' | 'exchange'; node: number; inputs: number[]; placement: Placement; partial?: boolean }
export interface IAJSON { sites: number; plan: PlanJSON; steps: StepJSON[]; outputs: number[] }

export function iaToJSON(ia: IAPlan): IAJSON {
  const roots = [...new Set(ia.steps.map((s) => s.node))];
  const plan = new Plan(roots);
  const index = new Map(topoSort(roots).map((n, i) => [n, i]));
  return {
    sites: ia.sites,
    plan: plan.toJSON(),
    steps: ia.steps.map((s) => ({ id: s.id, kind: s.kind, node: index.get(s.node)!, inputs: s.inputs.map((x) => x.id), placement: s.placement, ...(s.partial ? { partial: true } : {}) })),
    outputs: ia.outputs.map((s) => s.id),
  };
}

/** The steps of a plan rebuilt on another thread, with their nodes (re-validated by Plan.fromJSON). */
export interface SiteStep { id: number; kind: 'local' | 'exchange'; node: Node; inputs: number[]; placement: Placement; partial?: boolean }

export function iaFromJSON(j: IAJSON): { steps: SiteStep[]; outputs: number[] } {
  const plan = Plan.fromJSON(j.plan);
  const nodes = plan.nodes();
  return { steps: j.steps.map((s) => ({ ...s, node: nodes[s.node]! })), outputs: j.outputs };
}

/** A tuple on the wire: key, tile shape and dtype, and the tile's own buffer. */
export interface WireTuple { k: number[]; s: number[]; d: DType; b: ArrayBuffer; /** A CSR tile's indptr and indices. */ csr?: [ArrayBuffer, ArrayBuffer] }

/**
 * Packs tuples for postMessage: each tile is copied into a fresh buffer (tiles are shared between
 * relations on a site, so the original must stay), which then moves in the transfer list without a
 * second copy.
 */
export function pack(tuples: Iterable<Tuple>, transfer: ArrayBuffer[]): { wire: WireTuple[]; bytes: number } {
  const wire: WireTuple[] = [];
  let bytes = 0;
  for (const { key, tile } of tuples) {
    const b = tile.data.slice().buffer as ArrayBuffer;
    transfer.push(b);
    bytes += tile.data.byteLength;
    const csr = tile.csr ? [tile.csr.indptr.slice().buffer, tile.csr.indices.slice().buffer] as [ArrayBuffer, ArrayBuffer] : undefined;
    if (csr) { transfer.push(...csr); bytes += csr[0].byteLength + csr[1].byteLength; }
    wire.push({ k: [...key], s: [...tile.shape], d: tile.dtype, b, ...(csr ? { csr } : {}) });
  }
  return { wire, bytes };
}

export function unpack(wire: readonly WireTuple[]): Tuple[] {
  return wire.map((w) => {
    const data = w.d === 'float64' ? new Float64Array(w.b) : new Float32Array(w.b);
    return { key: w.k, tile: w.csr ? { shape: w.s, dtype: w.d, data, csr: { indptr: new Int32Array(w.csr[0]), indices: new Int32Array(w.csr[1]) } } : makeTile(w.s, w.d, data) };
  });
}

