/** Shared checks: gradPlan gradients against central finite differences, in float64. */
import assert from 'node:assert/strict';

export function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
}
export const randArr = (n: number, r: () => number) => Float64Array.from({ length: n }, r);

export { checkGrad } from '../helpers/grad_check.js';

export function close(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-10, what = ''): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= tol * Math.max(1, Math.abs(want[i]!)), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}
