/** Messages between the coordinator and site workers. */
import type { IAJSON, WireTuple } from './wire.js';
import type { DType } from '../../tile.js';

export type ToSite =
  | { type: 'run'; runId: number; planId: number; plan?: IAJSON; loads: Record<number, WireTuple[]>; precision?: DType; checkFinite: boolean | 'all'; fault?: Fault }
  | { type: 'stop' };

export type FromSite =
  | { type: 'ready'; site: number }
  | { type: 'done'; runId: number; site: number; outputs: Record<number, WireTuple[]>; sent: Record<number, number> }
  | { type: 'error'; runId: number; site: number; step: number; op: string; message: string; code?: string };

/** Peer-to-peer exchange payload. */
export interface PeerMessage { runId: number; step: number; from: number; tuples: WireTuple[] }

/** Test hook: make a site throw or exit at a step, to prove errors surface and nothing hangs. */
export interface Fault { site: number; step: number; kind: 'throw' | 'exit' }
