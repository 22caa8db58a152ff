/**
 * One site's share of an IA plan: it evaluates local steps on the tuples it holds (with the reference
 * executor's operator rules and the fastest kernel backend present) and splits relations by destination
 * for exchanges. The same code runs in the main thread (one site) and in each worker thread.
 */
import { PlanError } from '../../errors.js';
import { siteOf, type Placement } from '../../plan/placement.js';
import { OPS } from '../../tra/ops/index.js';
import { Relation, type Tuple } from '../../tra/relation.js';
import type { DType } from '../../tile.js';
import { checkFinite, checksNode, type RunOptions } from '../executor.js';
import { joinAggregate, REFERENCE_OPS } from '../reference/ops.js';
import { FUSABLE_UNARY } from '../../kernels/defs.js';
import type { KernelCall } from '../../kernels/registry.js';
import type { SiteStep } from './wire.js';

export interface SiteOptions { site: number; sites: number; backend: string; precision?: DType; checkFinite: RunOptions['checkFinite']; outputs?: readonly number[] }

export class Site {
  /** Each step's local value: several parts after an exchange (one per sender), combined by the consumer. */
  readonly values = new Map<number, Relation[]>();
  constructor(readonly opts: SiteOptions) {}

  /** A step's parts as one relation (parts of a non-aggregate input never share keys). */
  private merged(step: SiteStep): Relation {
    const parts = this.values.get(step.id);
    if (!parts) throw new PlanError(`site ${this.opts.site}: step @${step.id} has no value`);
    if (parts.length === 1) return parts[0]!;
    const r = new Relation({ ...step.node.schema, dtype: this.dtype(step) }, parts[0]?.name);
    for (const p of parts) for (const t of p.tuples()) r.set(t.key, t.tile);
    return r;
  }

  dtype(step: SiteStep): DType { return this.opts.precision ?? step.node.schema.dtype; }

  /** Joins whose only consumer is a local aggregation run fused with it (joinAggregate): join step -> aggregation step. */
  private fused = new Map<number, number>();

  /** Elementwise chains run as one 'fused' kernel call: head step -> the step whose operator and inputs it evaluates. */
  private chains = new Map<number, { base: SiteStep; first: KernelCall; then: string[] }>();
  /** Steps computed inside a later step (a fused join or an absorbed elementwise step). */
  private absorbed = new Set<number>();

  /**
   * Finds what to fuse in a plan's steps: a join whose only consumer is an aggregation (joinAggregate),
   * and a parameterless unary map whose input is an elementwise step it alone consumes (bias add then
   * ReLU, say), which becomes one call of the 'fused' kernel.
   */
  fuse(steps: readonly SiteStep[], outputs: readonly number[]): void {
    const users = new Map<number, SiteStep[]>();
    for (const st of steps) for (const i of st.inputs) users.set(i, [...(users.get(i) ?? []), st]);
    this.fused.clear(); this.chains.clear(); this.absorbed.clear();
    const onlyUser = (st: SiteStep): SiteStep | undefined => {
      const u = users.get(st.id) ?? [];
      return st.kind === 'local' && !outputs.includes(st.id) && u.length === 1 && u[0]!.kind === 'local' ? u[0] : undefined;
    };
    const plainUnary = (k: KernelCall) => k.name === 'unary' && k.attrs.alpha === undefined && (FUSABLE_UNARY as readonly string[]).includes(k.attrs.fn as string);
    const fusableFirst = (k: KernelCall) => k.name === 'binary' || plainUnary(k);
    for (const st of steps) {
      const user = onlyUser(st);
      if (!user) continue;
      if (st.node.op === 'join' && user.node.op === 'aggregate' && user.inputs.length === 1) { this.fused.set(st.id, user.id); continue; }
      const k = st.node.attrs.kernel as KernelCall | undefined, uk = user.node.attrs.kernel as KernelCall | undefined;
      if (!k || !uk || (st.node.op !== 'map' && st.node.op !== 'join') || user.node.op !== 'map') continue;
      if (!plainUnary(uk)) continue;
      const prev = this.chains.get(st.id);
      if (!prev && !fusableFirst(k)) continue;
      this.chains.set(user.id, prev ? { ...prev, then: [...prev.then, uk.attrs.fn as string] } : { base: st, first: k, then: [uk.attrs.fn as string] });
      this.chains.delete(st.id);
      this.absorbed.add(st.id);
    }
  }

  /** Evaluates a local step whose inputs (by step id) are already here. Input/const steps are loaded elsewhere. */
  runLocal(step: SiteStep, byId: ReadonlyMap<number, SiteStep>): void {
    const n = step.node;
    if (n.op === 'input' || n.op === 'const') throw new PlanError(`site ${this.opts.site}: ${n.op} steps are loaded, not run`);
    if (this.fused.has(step.id) || this.absorbed.has(step.id)) return; // computed inside a later step
    const ctx = { dtype: this.dtype(step), backend: this.opts.backend, name: `${n.op} ${OPS[n.op].describe(n.attrs)}` };
    const chain = this.chains.get(step.id);
    if (chain) {
      const { base } = chain;
      const kernel: KernelCall = { name: 'fused', attrs: { first: chain.first, then: chain.then } };
      const node = { ...base.node, schema: n.schema, attrs: { ...base.node.attrs, kernel } };
      const out = REFERENCE_OPS[base.node.op as 'join' | 'map'](node, base.inputs.map((id) => this.merged(byId.get(id)!)), ctx);
      this.check(step, out, ctx.name);
      this.values.set(step.id, [out]);
      return;
    }
    const producer = n.op === 'aggregate' ? byId.get(step.inputs[0]!) : undefined;
    if (producer && this.fused.get(producer.id) === step.id) {
      const out = joinAggregate(producer.node, n, producer.inputs.map((id) => this.merged(byId.get(id)!)), ctx);
      this.check(step, out, ctx.name);
      this.values.set(step.id, [out]);
      return;
    }
    const evaluate = REFERENCE_OPS[n.op];
    // Aggregation takes the bag union of all parts (partials from several sites); others take one relation per input.
    const inputs = n.op === 'aggregate'
      ? step.inputs.flatMap((id) => this.values.get(id) ?? [])
      : step.inputs.map((id) => this.merged(byId.get(id)!));
    const out = evaluate(n, inputs, ctx);
    this.check(step, out, ctx.name);
    this.values.set(step.id, [out]);
  }

  private check(step: SiteStep, out: Relation, name: string): void {
    if (checksNode(this.opts.checkFinite, step.node, this.opts.outputs?.includes(step.id) ?? false)) checkFinite(out, `${name} (step @${step.id}, site ${this.opts.site})`);
  }

  /** Splits this site's part of the exchanged relation by destination: what stays and what goes where. */
  splitForExchange(step: SiteStep, from: Placement): { keep: Tuple[]; send: Tuple[][] } {
    const { site, sites } = this.opts;
    const src = this.values.get(step.inputs[0]!) ?? [];
    const keep: Tuple[] = [], send: Tuple[][] = Array.from({ length: sites }, () => []);
    const fromReplicated = from.kind === 'replicated';
    for (const part of src) for (const t of part.tuples()) {
      const dest = siteOf(t.key, step.placement, sites);
      if (dest === -1) {
        keep.push(t);
        if (!fromReplicated) for (let s = 0; s < sites; s++) if (s !== site) send[s]!.push(t);
      } else if (dest === site) keep.push(t);
      else if (!fromReplicated) send[dest]!.push(t);
    }
    return { keep, send };
  }

  /** Stores an exchange's result: what this site kept plus what each other site sent. */
  receive(step: SiteStep, keep: Tuple[], incoming: Tuple[][]): void {
    const dtype = this.dtype(step);
    const parts = [keep, ...incoming].filter((ts) => ts.length > 0).map((ts) => {
      const r = new Relation({ ...step.node.schema, dtype });
      for (const t of ts) r.set(t.key, t.tile);
      return r;
    });
    this.values.set(step.id, parts.length ? parts : [new Relation({ ...step.node.schema, dtype })]);
  }

  /** Loads this site's share of an input or constant relation placed `p`. */
  load(step: SiteStep, rel: Relation): void {
    const { site, sites } = this.opts;
    const mine = new Relation({ ...rel.schema, dtype: this.dtype(step) }, rel.name);
    for (const t of rel.tuples()) {
      const d = siteOf(t.key, step.placement, sites);
      if (d === -1 || d === site) mine.set(t.key, t.tile);
    }
    this.values.set(step.id, [mine]);
  }
}
