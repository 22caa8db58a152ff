/**
 * Long float32 sums on onnxruntime are accurate: its CPU ReduceSum adds float32 values one after another,
 * which left a 6.8 M-element loss sum 2.4e-3 relative off; GraphBuilder.reduceSum runs such sums in float64.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORT } from '../../src/kernels/ort/index.js';
import { applyKernel, type KernelCall } from '../../src/kernels/registry.js';
import type { Tile } from '../../src/tile.js';

test('float32 sums of 6.8 M elements on ort (einsum, reduce; whole and per column) match the float64 sum to float32 rounding', () => {
  // A GCN loss's shape: 169,343 nodes × 40 classes, one large same-signed term per row and small noise,
  // where float32 accumulation in order drifts (2.4e-3 relative before the fix).
  const R = 169_343, C = 40, x = new Float32Array(R * C);
  for (let i = 0; i < x.length; i++) x[i] = (i % C === (i * 7) % C ? -3.7 : 0) + (((i * 2654435761) % 1000) / 1000) * 0.01;
  const whole = x.reduce((s, v) => s + v, 0), cols = Array.from({ length: C }, (_, c) => { let s = 0; for (let r = 0; r < R; r++) s += x[r * C + c]!; return s; });
  const t: Tile = { shape: [R, C], dtype: 'float32', data: x };
  const run = (call: KernelCall) => applyKernel(ORT, call, [t], 'float32').data;
  const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
  for (const call of [{ name: 'einsum', attrs: { spec: 'ab->' } }, { name: 'reduce', attrs: { fn: 'sum', axes: [0, 1] } }]) {
    assert.ok(rel(run(call)[0]!, whole) < 2e-7, `${call.name}: ${run(call)[0]} vs ${whole}`);
  }
  const percol = run({ name: 'einsum', attrs: { spec: 'ab->b' } });
  cols.forEach((s, c) => assert.ok(rel(percol[c]!, s) < 2e-7 || Math.abs(percol[c]! - s) < 1e-3, `column ${c}: ${percol[c]} vs ${s}`));
});
