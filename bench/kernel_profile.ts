/**
 * Where a compiled training step's time goes, kernel call by kernel call:
 *   node dist/bench/kernel_profile.js [mlp|cnn] [steps]
 * Wraps every registered 'ort' kernel implementation with a timer, runs the compiled step, and prints
 * each call signature's count and time per step, plus the executor time outside kernels.
 */
// Models first: kernels/conv.ts must register im2col before the ort backend copies the reference kernels.
import { buildModel, type ModelKind } from '../src/cli/models.js';
import { InprocExecutor } from '../src/exec/inproc/index.js';
import { ORT } from '../src/kernels/ort/index.js';
import { kernelImpl, kernelNames, registerKernelImpl, hasKernelImpl } from '../src/kernels/registry.js';
import { CompiledModel, toFloat32 } from '../src/nn/compiled.js';

const kind = (process.argv[2] ?? 'mlp') as ModelKind, steps = Number(process.argv[3] ?? 30), B = Number(process.argv[4] ?? 128);
const times = new Map<string, { n: number; ms: number }>();
let on = false;
for (const name of kernelNames()) {
  if (!hasKernelImpl(ORT, name)) continue;
  const impl = kernelImpl(ORT, name);
  registerKernelImpl(ORT, name, (inputs, attrs, shape, dtype) => {
    const t = performance.now();
    const out = impl(inputs, attrs, shape, dtype);
    if (on) {
      const key = `${name} ${JSON.stringify(attrs)} ${inputs.map((x) => `[${x.shape}]`).join(' ')}`;
      const e = times.get(key) ?? { n: 0, ms: 0 };
      e.n++; e.ms += performance.now() - t; times.set(key, e);
    }
    return out;
  });
}
const model = toFloat32(buildModel(kind, 1));
const cm = new CompiledModel(model, { executor: new InprocExecutor({ sites: 1 }), exampleShape: kind === 'mlp' ? [784] : [1, 28, 28], classes: 10 });
const x = Float32Array.from({ length: B * 784 }, (_, i) => ((i * 7919) % 255) / 255), y = Int32Array.from({ length: B }, (_, i) => i % 10);
for (let i = 0; i < 3; i++) await cm.step(x, y);
on = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) await cm.step(x, y);
const total = (performance.now() - t0) / steps;
const rows = [...times.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kern = rows.reduce((t, [, e]) => t + e.ms, 0) / steps;
console.log(`${kind} batch ${B}: ${total.toFixed(2)} ms/step, kernels ${kern.toFixed(2)} ms, outside kernels ${(total - kern).toFixed(2)} ms, ${rows.reduce((t, [, e]) => t + e.n, 0) / steps} kernel calls/step`);
for (const [k, e] of rows.slice(0, 25)) console.log(`${(e.ms / steps).toFixed(3).padStart(8)} ms  x${(e.n / steps).toFixed(0).padStart(2)}  ${k.slice(0, 150)}`);
