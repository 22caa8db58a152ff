/**
 * One forward+backward pass of a module's loss: trainable parameters become plan inputs, frozen ones
 * constants (so they get no gradient), and modules' auxiliary tensors (batch statistics) ride along as
 * extra plan outputs whose values are handed back to the modules after the run.
 */
import { PlanError } from '../errors.js';
import { scalarOne, vjp } from '../autodiff/vjp.js';
import { runSync } from '../exec/reference/index.js';
import { input, tensor, type Tensor } from '../frontend/tensor.js';
import { Plan } from '../tra/plan.js';
import type { DType, TileData } from '../tile.js';
import type { Module, Params } from './module.js';

export interface StepResult { loss: number; grads: Record<string, TileData> }

export function valueAndGradModule(model: Module, loss: (p: Params) => Tensor, dtype: DType = 'float32'): StepResult {
  const params = Object.entries(model.parameters());
  const trainable = params.filter(([, p]) => !p.frozen);
  const bound: Record<string, { shape: readonly number[]; data: TileData }> = {};
  const p: Params = {};
  for (const [name, q] of params) {
    const tile = q.tile ?? q.shape.map((n) => Math.max(n, 1));
    if (q.frozen) p[name] = tensor(q.data, { shape: q.shape, tile, dtype });
    else { p[name] = input(`p:${name}`, q.shape, { tile, dtype }); bound[`p:${name}`] = { shape: q.shape, data: q.data }; }
  }
  const modules = model.modules();
  modules.forEach((m) => { m.pendingAux = []; });
  const value = loss(p);
  if (value.rank !== 0) throw new PlanError(`${model.name}: the loss must be a scalar, got shape [${value.shape}]`);
  const aux = modules.flatMap((m) => m.pendingAux);
  const auxList = aux.flatMap((a) => Object.values(a.tensors));
  const grads = trainable.length ? vjp([value.node], [scalarOne(value.node)], trainable.map(([n]) => p[n]!.node)) : [];
  const plan = new Plan([value.node, ...grads, ...auxList.map((t) => t.node)]);
  const out = runSync(plan, bound).map((r) => r.toDense().data);
  let k = 1 + grads.length;
  for (const a of aux) a.apply(Object.fromEntries(Object.keys(a.tensors).map((key) => [key, out[k++]!])));
  modules.forEach((m) => { m.pendingAux = []; });
  const result: Record<string, TileData> = {};
  trainable.forEach(([n, q], i) => {
    const g = out[1 + i]!;
    if (q.mask) for (let j = 0; j < g.length; j++) g[j] = g[j]! * q.mask[j]!; // masked entries get no update
    result[n] = g;
  });
  return { loss: out[0]![0]!, grads: result };
}
