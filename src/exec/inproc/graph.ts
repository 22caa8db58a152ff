/**
 * Whole-plan graphs for one site. When every relation of a one-site IA plan is a single tile (all key
 * bounds 1: a training step whose batch, activations and parameters are each one tile) and every kernel
 * has an ONNX lowering, the plan is one static dataflow graph: maps and joins are kernel calls on single
 * tiles, aggregations of single tiles are elementwise Sum/Max/Min, rekeys and exchanges are nothing. That
 * graph is composed once (kernels/ort/lower.ts GraphComposer) and every later run is ONE onnxruntime call
 * instead of one call per kernel: no per-call fixed cost, no JS between kernels, and ORT's own memory
 * planning and graph rewrites (transposes folded into matmuls, MatMul+Add as Gemm, NCHWc convolutions)
 * across what were separate kernels.
 *
 * The plan is still the relational plan (and its relational gradient); this is how a one-site executor
 * runs it when its shape allows (a retile within one tile is a Slice and a Pad). Anything else — several
 * tiles, a concat, a filter, a kernel without a lowering, sparse tiles — keeps the step-by-step path.
 *
 * Finiteness: inputs are checked as they are bound and outputs after the run; a non-finite output re-runs
 * the plan step by step, which names the operator that produced it (the rare failing run pays twice,
 * every good run pays nothing). A NaN that never reaches an output (masked away inside the graph) goes
 * unseen; checkFinite: 'all' keeps every run on the step-by-step path, where each operator is checked.
 */
import { GraphComposer, type GraphValue } from '../../kernels/ort/lower.js';
import { MAX_THREADS, OrtSession } from '../../kernels/ort/session.js';
import { outShape, type KernelCall } from '../../kernels/registry.js';
import { Relation } from '../../tra/relation.js';
import { makeTile, allocData, type DType } from '../../tile.js';
import type { SiteStep } from './wire.js';

export interface PlanGraph {
  session: OrtSession;
  /** Step ids whose (bound) single tile feeds each graph input, in order. */
  inputs: number[];
  /** Per plan output: its graph value's shape and dtype. */
  outputs: { shape: readonly number[]; dtype: DType }[];
  /** Kernel calls the graph replaces (for reports). */
  calls: number;
}

const singleTile = (bounds: readonly number[]) => bounds.every((b) => b === 1);

/**
 * Composes the graph for `steps`, given the single-tile relations bound to its input and const steps;
 * returns why not when the plan does not have that shape.
 */
export function composePlanGraph(steps: readonly SiteStep[], outputs: readonly number[], bound: ReadonlyMap<number, Relation>, precision?: DType): PlanGraph | string {
  const g = new GraphComposer(), values = new Map<number, GraphValue>(), inputs: number[] = [];
  let calls = 0;
  for (const st of steps) {
    const n = st.node, dtype = precision ?? n.schema.dtype;
    if (!singleTile(n.schema.keys)) return `step @${st.id} (${n.op}) has key bounds [${n.schema.keys.join(',')}], not one tile`;
    const arg = (i: number) => values.get(st.inputs[i]!)!;
    let v: GraphValue | undefined;
    if (st.kind === 'exchange' || n.op === 'rekey') v = arg(0);
    else if (n.op === 'input' || n.op === 'const') {
      const rel = bound.get(st.id)!;
      if (rel.size !== 1) return `step @${st.id} (${n.op}) holds ${rel.size} tiles`;
      const t = rel.tuples().next().value!.tile;
      v = g.input(t.dtype, t.shape);
      inputs.push(st.id);
    } else if (n.op === 'map' || n.op === 'join') {
      const k = n.attrs.kernel as KernelCall, args = st.inputs.map((_, i) => arg(i));
      v = g.call(k.name, k.attrs, args, outShape(k, args.map((a) => a.shape)), dtype);
      if (!v) return `kernel '${k.name}' at step @${st.id} has no ONNX lowering for this case`;
      calls++;
    } else if (n.op === 'retile') {
      v = g.window(arg(0), n.attrs.start as number[], n.attrs.shape as number[]);
      if (!v) return `retile at step @${st.id} keeps nothing of its input`;
    } else if (n.op === 'aggregate') {
      v = g.combine(n.attrs.fn as 'sum' | 'max' | 'min', st.inputs.map((_, i) => arg(i)), dtype);
    } else return `step @${st.id} is a ${n.op}, which the graph path does not take`;
    values.set(st.id, v);
  }
  const outs = outputs.map((id) => values.get(id)!);
  const session = new OrtSession(g.finish(outs), MAX_THREADS);
  return { session, inputs, outputs: outs.map((o) => ({ shape: o.shape, dtype: o.dtype })), calls };
}

/** Runs a composed graph on the bound tiles; returns each output as a one-tile relation of its step's schema. */
export function runPlanGraph(pg: PlanGraph, bound: ReadonlyMap<number, Relation>, outputSteps: readonly SiteStep[]): Relation[] {
  const feeds = pg.inputs.map((id) => { const t = bound.get(id)!.tuples().next().value!.tile; return { data: t.data, dims: t.shape, dtype: t.dtype }; });
  const outs = pg.outputs.map((o) => ({ data: allocData(o.dtype, o.shape.reduce((p, d) => p * d, 1)), dims: o.shape, dtype: o.dtype }));
  pg.session.runAll(feeds, outs);
  return outputSteps.map((st, i) => {
    const o = outs[i]!, rel = new Relation({ ...st.node.schema, dtype: o.dtype });
    rel.set(st.node.schema.keys.map(() => 0), makeTile(o.dims, o.dtype, o.data));
    return rel;
  });
}
