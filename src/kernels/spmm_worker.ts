/**
 * A worker of the sparse kernels' pool (spmm_pool.ts): runs its part of a product on the shared memory,
 * in chunks of rows so the caller sees progress, then sets the control word to DONE (or FAILED with the
 * error's message) and wakes the caller.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CTRL, type Job } from './spmm_pool.js';
import { instantiate, type WasmMemory } from './spmm_wasm.js';

const { module, memory, ctrl } = workerData as { module: object; memory: WasmMemory; ctrl: Int32Array };
const kernels = instantiate(module, memory);
const CHUNK = 1024;

parentPort!.on('message', (job: Job) => {
  try {
    if (job.fault === 'throw') throw new Error('injected fault');
    if (job.fault === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    const run = job.f64 ? kernels.f64 : kernels.f32;
    for (let r = job.r0; r < job.r1; r += CHUNK) {
      run(...job.args, r, Math.min(r + CHUNK, job.r1));
      Atomics.add(ctrl, CTRL.PROGRESS, 1);
    }
    Atomics.store(ctrl, CTRL.STATE, CTRL.DONE);
  } catch (e) {
    const msg = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, CTRL.MSG_MAX);
    new Uint8Array(ctrl.buffer, CTRL.MSG_AT, msg.length).set(msg);
    Atomics.store(ctrl, CTRL.MSG_LEN, msg.length);
    Atomics.store(ctrl, CTRL.STATE, CTRL.FAILED);
  }
  Atomics.notify(ctrl, CTRL.STATE);
});
