/**
 * A site worker: holds its share of every relation, runs the IA plan's steps in order, and exchanges
 * tuples directly with peer sites over MessagePorts (buffers transferred). It talks to the coordinator
 * only to start a run and to hand back outputs, bytes sent, or an error naming the step and operator.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import '../../kernels/defs.js';
import '../../kernels/reference/index.js';
import '../../kernels/sparse.js';
import { REFERENCE } from '../../kernels/reference/index.js';
import { RelmlError } from '../../errors.js';
import { Relation, type Tuple } from '../../tra/relation.js';
import type { FromSite, PeerMessage, ToSite } from './protocol.js';
import { Site } from './site.js';
import { iaFromJSON, pack, unpack, type SiteStep, type WireTuple } from './wire.js';
import type { DType } from '../../tile.js';

const { site, sites, peers, backend, progress } = workerData as { site: number; sites: number; peers: Record<number, MessagePort>; backend: string; progress: SharedArrayBuffer };
/** The step this site is on, readable by the coordinator even if this thread dies. */
const at = new Int32Array(progress);
// Load a native backend only when asked for, and say 'ready' only after it has initialised: a thread
// terminated during a native library's initialisation can abort the whole process.
if (backend !== REFERENCE) await import('../../kernels/ort/index.js');
const plans = new Map<number, { steps: SiteStep[]; outputs: number[] }>();

// Incoming peer messages, by run and step, until the step that waits for them takes them.
const inbox = new Map<string, PeerMessage[]>();
const waiters = new Map<string, () => void>();
for (const port of Object.values(peers)) {
  port.on('message', (m: PeerMessage) => {
    const k = `${m.runId}|${m.step}`;
    const box = inbox.get(k) ?? [];
    box.push(m);
    inbox.set(k, box);
    waiters.get(k)?.();
  });
}
const receiveAll = (runId: number, step: number): Promise<PeerMessage[]> => new Promise((resolve) => {
  const k = `${runId}|${step}`;
  const check = () => {
    const box = inbox.get(k) ?? [];
    if (box.length === sites - 1) { inbox.delete(k); waiters.delete(k); resolve(box); }
  };
  waiters.set(k, check);
  check();
});

async function run(msg: Extract<ToSite, { type: 'run' }>): Promise<void> {
  if (msg.plan) plans.set(msg.planId, iaFromJSON(msg.plan));
  const plan = plans.get(msg.planId)!;
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const me = new Site({ site, sites, backend, precision: msg.precision, checkFinite: msg.checkFinite, outputs: plan.outputs });
  me.fuse(plan.steps, plan.outputs);
  const sent: Record<number, number> = {};
  let current: SiteStep | undefined;
  try {
    for (const step of plan.steps) {
      current = step;
      Atomics.store(at, 0, step.id);
      if (msg.fault && msg.fault.site === site && msg.fault.step === step.id) {
        if (msg.fault.kind === 'exit') process.exit(3);
        throw new Error('injected fault');
      }
      if (step.kind === 'local') {
        if (step.node.op === 'input') me.load(step, relationOf(step, msg.loads[step.id] ?? [], me.dtype(step)));
        else if (step.node.op === 'const') me.load(step, step.node.attrs.value as Relation);
        else me.runLocal(step, byId);
        continue;
      }
      const { keep, send } = me.splitForExchange(step, byId.get(step.inputs[0]!)!.placement);
      let bytes = 0;
      for (let s = 0; s < sites; s++) {
        if (s === site) continue;
        const transfer: ArrayBuffer[] = [];
        const packed = pack(send[s]!, transfer);
        bytes += packed.bytes;
        peers[s]!.postMessage({ runId: msg.runId, step: step.id, from: site, tuples: packed.wire } satisfies PeerMessage, transfer);
      }
      sent[step.id] = bytes;
      const incoming = (await receiveAll(msg.runId, step.id)).sort((a, b) => a.from - b.from).map((m) => unpack(m.tuples));
      me.receive(step, keep, incoming);
    }
    const outputs: Record<number, WireTuple[]> = {};
    const transfer: ArrayBuffer[] = [];
    for (const id of plan.outputs) {
      const step = byId.get(id)!;
      // A replicated output is reported once, by site 0.
      if (step.placement.kind === 'replicated' && site !== 0) { outputs[id] = []; continue; }
      const tuples: Tuple[] = (me.values.get(id) ?? []).flatMap((r) => [...r.tuples()]);
      outputs[id] = pack(tuples, transfer).wire;
    }
    parentPort!.postMessage({ type: 'done', runId: msg.runId, site, outputs, sent } satisfies FromSite, transfer);
  } catch (e) {
    parentPort!.postMessage({
      type: 'error', runId: msg.runId, site, step: current?.id ?? -1, op: current ? `${current.kind === 'exchange' ? 'exchange of ' : ''}${current.node.op}` : '?',
      message: e instanceof Error ? e.message : String(e), code: e instanceof RelmlError ? e.code : undefined,
    } satisfies FromSite);
  }
}

function relationOf(step: SiteStep, wire: readonly WireTuple[], dtype: DType): Relation {
  const r = new Relation({ ...step.node.schema, dtype }, String(step.node.attrs.name ?? 'input'));
  for (const t of unpack(wire)) r.set(t.key, t.tile);
  return r;
}


parentPort!.postMessage({ type: 'ready', site } satisfies FromSite);
parentPort!.on('message', (msg: ToSite) => {
  if (msg.type === 'stop') { for (const p of Object.values(peers)) p.close(); parentPort!.close(); return; }
  void run(msg);
});
