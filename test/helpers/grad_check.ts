/** Gradients from gradPlan against central finite differences, in float64. */
import assert from 'node:assert/strict';
import { gradPlan, Plan, runSync, tensor, type Tensor } from '../../src/index.js';

/**
 * Asserts every gradient of f at `data` matches central differences (relative error under `tol`, scaled
 * by max(1, |fd|)) and returns the worst error seen. `label` prefixes failure messages.
 */
export function checkGrad(f: (...ts: Tensor[]) => Tensor, shapes: number[][], data: Float64Array[], tol = 1e-6, tiles?: number[][], label = ''): number {
  const args = shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: tiles?.[i] }));
  const plan = gradPlan(f, args, args.map((_, i) => i));
  const bind = (ds: Float64Array[]) => Object.fromEntries(ds.map((d, i) => [`arg${i}`, { shape: shapes[i]!, data: d }]));
  const [, ...grads] = runSync(plan, bind(data));
  const vp = new Plan([plan.outputs[0]!]);
  const val = (ds: Float64Array[]) => runSync(vp, bind(ds))[0]!.toDense().data[0]!;
  const h = 1e-5;
  let worst = 0;
  grads.forEach((g, i) => {
    const auto = g!.toDense().data;
    for (let k = 0; k < data[i]!.length; k++) {
      const p = data.map((d) => d.slice()), m = data.map((d) => d.slice());
      p[i]![k]! += h; m[i]![k]! -= h;
      const fd = (val(p) - val(m)) / (2 * h);
      const err = Math.abs(auto[k]! - fd) / Math.max(1, Math.abs(fd));
      worst = Math.max(worst, err);
      assert.ok(err <= tol, `${label}d/darg${i}[${k}]: autodiff ${auto[k]} vs finite difference ${fd}`);
    }
  });
  return worst;
}
