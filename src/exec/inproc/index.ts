/**
 * The multi-site in-process executor. Sites are worker threads that run an IA plan (from the optimizer)
 * in parallel and exchange tiles with each other directly; with one site the plan runs in the calling
 * thread with no copies, so small work costs what the kernel costs. It reports the bytes each exchange
 * really moved beside the optimizer's prediction.
 *
 * A site that throws or dies fails the run with an error naming the step, operator and site; the
 * executor then terminates every worker (no orphan threads, no hang) and starts fresh ones next run.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { RelmlError } from '../../errors.js';
import '../../kernels/defs.js';
import { REFERENCE } from '../../kernels/reference/index.js';
import { ORT, ortAvailable } from '../../kernels/ort/index.js';
import { explainIA, type IAPlan } from '../../plan/ia.js';
import { optimize, type OptimizeOptions } from '../../plan/optimizer.js';
import type { Plan } from '../../tra/plan.js';
import { Relation } from '../../tra/relation.js';
import { allFinite, bindInput, checkFinite, type Bindings, type Executor, type RunOptions } from '../executor.js';
import type { Fault, FromSite, ToSite } from './protocol.js';
import { composePlanGraph, runPlanGraph, type PlanGraph } from './graph.js';
import { Site } from './site.js';
import { iaFromJSON, iaToJSON, pack, unpack, type SiteStep, type WireTuple } from './wire.js';

export class SiteError extends RelmlError {
  constructor(readonly site: number, readonly step: number, readonly op: string, message: string) {
    super('SITE', `site ${site} failed at step @${step} (${op}): ${message}`, { site, step, op });
  }
}

export interface InprocOptions extends Omit<OptimizeOptions, 'sites'> {
  sites?: number;
  /** Kernel backend; default 'ort' when onnxruntime-node loads, else 'reference'. */
  backend?: string;
  /**
   * One site on 'ort': run a plan whose relations are all single tiles as one composed ONNX graph
   * (graph.ts) instead of kernel by kernel. Default true; RELML_GRAPH=0 turns it off.
   */
  graph?: boolean;
}

export interface RunReport {
  ia: IAPlan;
  /** Bytes each exchange step moved (measured), and the optimizer's prediction, by step id. */
  exchanges: { step: number; kind: string; measured: number; predicted: number }[];
  bytesMoved: number;
  bytesPredicted: number;
  /** Set when the run went through one composed graph (one site): the kernel calls it replaced. */
  graph?: { calls: number };
}

export class InprocExecutor implements Executor {
  readonly name: string;
  readonly sites: number;
  private workers: Worker[] = [];
  private pending = new Map<number, { resolve: (m: FromSite[]) => void; reject: (e: Error) => void; got: FromSite[] }>();
  private nextRun = 1;
  private planIds = new WeakMap<IAPlan, number>();
  private sentPlans = new Set<number>();
  private nextPlan = 1;
  private iaCache = new WeakMap<Plan, IAPlan>();
  /** The last run's measured exchanges. */
  lastReport?: RunReport;

  constructor(private readonly opts: InprocOptions = {}) {
    this.sites = opts.sites ?? 1;
    this.name = `inproc(${this.sites} site${this.sites === 1 ? '' : 's'})`;
  }

  get backend(): string { return this.opts.backend ?? (ortAvailable().ok ? ORT : REFERENCE); }

  /** The IA plan this executor runs for `plan` (cached per plan object). */
  physical(plan: Plan): IAPlan {
    let ia = this.iaCache.get(plan);
    if (!ia) this.iaCache.set(plan, (ia = optimize(plan, { ...this.opts, sites: this.sites })));
    return ia;
  }

  explain(plan: Plan): string { return explainIA(this.physical(plan)); }

  async run(plan: Plan, bindings: Bindings, opts: RunOptions = {}): Promise<Relation[]> {
    return this.runIA(this.physical(plan), bindings, opts);
  }

  async runIA(ia: IAPlan, bindings: Bindings, opts: RunOptions & { fault?: Fault } = {}): Promise<Relation[]> {
    return this.sites === 1 ? this.runHere(ia, bindings, opts) : this.runSites(ia, bindings, opts);
  }

  /** One site: the calling thread evaluates every step; exchanges are no-ops. */
  private runHere(ia: IAPlan, bindings: Bindings, opts: RunOptions): Relation[] {
    const { steps, outputs } = siteSteps(ia);
    const check = opts.checkFinite ?? true;
    // checkFinite 'all' asks for every operator's output to be checked: that needs the step-by-step path.
    // Inputs the graph path bound (and checked) before it declined are reused, not bound again.
    const bound = new Map<number, Relation>();
    const viaGraph = this.graphEnabled() && check !== 'all' ? this.runGraph(ia, steps, outputs, bindings, opts, bound) : undefined;
    if (viaGraph) return viaGraph;
    const site = new Site({ site: 0, sites: 1, backend: this.backend, precision: opts.precision, checkFinite: check, outputs });
    const byId = new Map(steps.map((s) => [s.id, s]));
    site.fuse(steps, outputs);
    for (const step of steps) {
      const n = step.node;
      if (step.kind === 'exchange') { site.values.set(step.id, site.values.get(step.inputs[0]!)!); continue; }
      if (n.op === 'input') {
        let rel = bound.get(step.id);
        if (!rel) {
          rel = bindInput(n, bindings[n.attrs.name as string], opts.precision ?? n.schema.dtype);
          if (check !== false) checkFinite(rel, `input '${String(n.attrs.name)}'`);
        }
        site.values.set(step.id, [rel]);
      } else if (n.op === 'const') site.load(step, n.attrs.value as Relation);
      else site.runLocal(step, byId);
    }
    this.lastReport = { ia, exchanges: [], bytesMoved: 0, bytesPredicted: 0 };
    return outputs.map((id) => site.values.get(id)![0]!);
  }

  private graphEnabled(): boolean {
    return this.backend === ORT && (this.opts.graph ?? process.env.RELML_GRAPH !== '0');
  }

  /** Composed graphs per IA plan and input signature; a string is why the plan does not take that path. */
  private graphs = new WeakMap<IAPlan, Map<string, PlanGraph | string>>();

  /** The one-graph path (graph.ts), or undefined when this plan or run must go step by step. */
  private runGraph(ia: IAPlan, steps: readonly SiteStep[], outputs: readonly number[], bindings: Bindings, opts: RunOptions, bound: Map<number, Relation>): Relation[] | undefined {
    let byShape = this.graphs.get(ia);
    if (!byShape) this.graphs.set(ia, (byShape = new Map()));
    if (byShape.get('') !== undefined) return undefined; // statically ineligible
    const ineligible = steps.find((st) => st.node.schema.keys.some((b) => b !== 1) || !GRAPH_OPS.has(st.kind === 'exchange' ? 'rekey' : st.node.op));
    if (ineligible) { byShape.set('', `step @${ineligible.id} (${ineligible.node.op}) is not a single-tile kernel step`); return undefined; }
    const check = opts.checkFinite ?? true;
    let sig = opts.precision ?? '';
    for (const st of steps) {
      const n = st.node;
      if (n.op !== 'input' && n.op !== 'const') continue;
      const rel = n.op === 'const' ? n.attrs.value as Relation : bindInput(n, bindings[n.attrs.name as string], opts.precision ?? n.schema.dtype);
      if (n.op === 'input' && check !== false) checkFinite(rel, `input '${String(n.attrs.name)}'`);
      bound.set(st.id, rel);
      if (rel.size !== 1) return undefined;
      const t = rel.tuples().next().value!.tile;
      if (t.csr) return undefined; // a sparse (CSR) tile: only the step path's kernels may read it
      sig += `|${st.id}:${t.dtype}:${t.shape.join('x')}`;
    }
    let pg = byShape.get(sig);
    if (pg === undefined) {
      try { pg = composePlanGraph(steps, outputs, bound, opts.precision); } catch (e) { pg = `onnxruntime refused the composed graph: ${e instanceof Error ? e.message : String(e)}`; }
      byShape.set(sig, pg);
    }
    if (typeof pg === 'string') return undefined;
    const byId = new Map(steps.map((s) => [s.id, s]));
    const result = runPlanGraph(pg, bound, outputs.map((id) => byId.get(id)!));
    // A non-finite output: re-run step by step, which names the operator that produced it.
    if (check !== false && !result.every(allFinite)) return undefined;
    this.lastReport = { ia, exchanges: [], bytesMoved: 0, bytesPredicted: 0, graph: { calls: pg.calls } };
    return result;
  }

  private ready?: Promise<void>;

  private ensureWorkers(): Promise<void> {
    if (this.workers.length && this.ready) return this.ready;
    const S = this.sites;
    const ports: Record<number, MessagePort>[] = Array.from({ length: S }, () => ({}));
    for (let a = 0; a < S; a++) for (let b = a + 1; b < S; b++) {
      const ch = new MessageChannel();
      ports[a]![b] = ch.port1; ports[b]![a] = ch.port2;
    }
    // Share the cores: each site's kernels get cores/S threads.
    const threads = String(Math.max(1, Math.floor(availableParallelism() / S)));
    let readyCount = 0, signal!: () => void, fail!: (e: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => { signal = resolve; fail = reject; });
    this.readyFail = fail;
    const backend = this.backend;
    this.progress = ports.map(() => new Int32Array(new SharedArrayBuffer(4)).fill(-1));
    this.workers = ports.map((peers, site) => {
      const w = new Worker(new URL('./worker.js', import.meta.url), {
        workerData: { site, sites: S, peers, backend, progress: this.progress[site]!.buffer },
        transferList: Object.values(peers) as unknown as ArrayBuffer[],
        env: { ...process.env, RELML_ORT_THREADS: process.env.RELML_ORT_THREADS ?? threads },
      });
      w.unref();
      // Events from workers of an earlier, terminated pool are ignored.
      const live = () => this.workers.includes(w);
      w.on('message', (m: FromSite) => {
        if (!live()) return;
        if (m.type === 'ready') { if (++readyCount === S) signal(); return; }
        this.onMessage(m);
      });
      w.on('error', (e) => { if (live()) this.failAll(this.died(site, e.message)); });
      w.on('exit', (code) => { if (live()) this.failAll(this.died(site, `exited with code ${code}`)); });
      return w;
    });
    this.sentPlans.clear();
    return this.ready;
  }

  private readyFail?: (e: Error) => void;
  private progress: Int32Array[] = [];
  private current?: IAPlan;

  /** The error for a site that died: the step it was on comes from its progress cell. */
  private died(site: number, why: string): SiteError {
    const id = Atomics.load(this.progress[site] ?? new Int32Array(1), 0);
    const step = id >= 0 ? this.current?.steps[id] : undefined;
    return new SiteError(site, id, step ? `${step.kind === 'exchange' ? 'exchange of ' : ''}${step.node.op}` : 'worker', `worker ${why}`);
  }

  private onMessage(m: Exclude<FromSite, { type: 'ready' }>): void {
    const p = this.pending.get(m.runId);
    if (!p) return;
    if (m.type === 'error') { this.failAll(new SiteError(m.site, m.step, m.op, m.message)); return; }
    p.got.push(m);
    if (p.got.length === this.sites) { this.pending.delete(m.runId); p.resolve(p.got); }
  }

  /** Rejects every pending run and terminates all workers. */
  private failAll(e: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    const workers = this.workers;
    this.workers = [];
    this.ready = undefined;
    this.readyFail?.(e);
    for (const w of workers) void w.terminate();
    for (const p of pending) p.reject(e);
  }

  private async runSites(ia: IAPlan, bindings: Bindings, opts: RunOptions & { fault?: Fault }): Promise<Relation[]> {
    await this.ensureWorkers();
    this.current = ia;
    const S = this.sites, check = opts.checkFinite ?? true;
    let planId = this.planIds.get(ia);
    if (!planId) this.planIds.set(ia, (planId = this.nextPlan++));
    const json = this.sentPlans.has(planId) ? undefined : iaToJSON(ia);
    this.sentPlans.add(planId);
    // Bind inputs here, then send each site only its share.
    const loads: Record<number, WireTuple[]>[] = Array.from({ length: S }, () => ({}));
    const transfers: ArrayBuffer[][] = Array.from({ length: S }, () => []);
    for (const step of ia.steps) {
      if (step.kind !== 'local' || step.node.op !== 'input') continue;
      const rel = bindInput(step.node, bindings[step.node.attrs.name as string], opts.precision ?? step.node.schema.dtype);
      if (check !== false) checkFinite(rel, `input '${String(step.node.attrs.name)}'`);
      for (let s = 0; s < S; s++) {
        const share = new Site({ site: s, sites: S, backend: REFERENCE, precision: opts.precision, checkFinite: false });
        share.load({ ...step, inputs: [], node: step.node }, rel);
        loads[s]![step.id] = pack(share.values.get(step.id)![0]!.tuples(), transfers[s]!).wire;
      }
    }
    const runId = this.nextRun++;
    const done = new Promise<FromSite[]>((resolve, reject) => this.pending.set(runId, { resolve, reject, got: [] }));
    this.workers.forEach((w, s) => w.postMessage({ type: 'run', runId, planId: planId!, plan: json, loads: loads[s]!, precision: opts.precision, checkFinite: check, fault: opts.fault } satisfies ToSite, transfers[s]!));
    const results = (await done) as Extract<FromSite, { type: 'done' }>[];
    const exchanges = ia.steps.filter((s) => s.kind === 'exchange').map((s) => ({
      step: s.id, kind: s.exchange ?? 'exchange', predicted: s.cost.bytes,
      measured: results.reduce((t, r) => t + (r.sent[s.id] ?? 0), 0),
    }));
    this.lastReport = { ia, exchanges, bytesMoved: exchanges.reduce((t, e) => t + e.measured, 0), bytesPredicted: exchanges.reduce((t, e) => t + e.predicted, 0) };
    return ia.outputs.map((o) => {
      const rel = new Relation({ ...o.node.schema, dtype: opts.precision ?? o.node.schema.dtype }, ia.names[ia.outputs.indexOf(o)]);
      for (const r of results) for (const t of unpack(r.outputs[o.id] ?? [])) rel.set(t.key, t.tile);
      return rel;
    });
  }

  /** Stops the workers (they are unref'd, so an unclosed executor does not keep the process alive). */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    this.ready = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const GRAPH_OPS = new Set(['input', 'const', 'map', 'join', 'aggregate', 'rekey', 'retile']);

const localCache = new WeakMap<IAPlan, ReturnType<typeof iaFromJSON>>();
/** The IA steps in the form sites run them; the one-site path uses the steps' own nodes (no JSON round trip). */
function siteSteps(ia: IAPlan): ReturnType<typeof iaFromJSON> {
  let v = localCache.get(ia);
  if (!v) localCache.set(ia, (v = { steps: ia.steps.map((s) => ({ id: s.id, kind: s.kind, node: s.node, inputs: s.inputs.map((x) => x.id), placement: s.placement, partial: s.partial })), outputs: ia.outputs.map((s) => s.id) }));
  return v;
}
