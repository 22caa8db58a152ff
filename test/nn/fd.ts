/** Shared checks: gradPlan gradients against central finite differences, in float64. */
import assert from 'node:assert/strict';
import { gradPlan, Plan, runSync, tensor, type Tensor } from '../../src/index.js';

export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
}
export const randArr = (n: number, r: () => number) => Float64Array.from({ length: n }, r);

export function checkGrad(f: (...ts: Tensor[]) => Tensor, shapes: number[][], data: Float64Array[], tol = 1e-6, tiles?: number[][]): void {
  const args = shapes.map((s, i) => tensor(data[i]!, { shape: s, dtype: 'float64', tile: tiles?.[i] }));
  const plan = gradPlan(f, args, args.map((_, i) => i));
  const bind = (ds: Float64Array[]) => Object.fromEntries(ds.map((d, i) => [`arg${i}`, { shape: shapes[i]!, data: d }]));
  const [, ...grads] = runSync(plan, bind(data));
  const vp = new Plan([plan.outputs[0]!]);
  const val = (ds: Float64Array[]) => runSync(vp, bind(ds))[0]!.toDense().data[0]!;
  const h = 1e-5;
  grads.forEach((g, i) => {
    const auto = g!.toDense().data;
    for (let k = 0; k < data[i]!.length; k++) {
      const p = data.map((d) => d.slice()), m = data.map((d) => d.slice());
      p[i]![k]! += h; m[i]![k]! -= h;
      const fd = (val(p) - val(m)) / (2 * h);
      assert.ok(Math.abs(auto[k]! - fd) <= tol * Math.max(1, Math.abs(fd)), `d/darg${i}[${k}]: autodiff ${auto[k]} vs finite difference ${fd}`);
    }
  });
}

export function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-10, what = ''): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}
