#!/usr/bin/env node
/**
 * The `relml` program (package.json "bin"); the commands are in commands.ts.
 *
 * Kernel threads: unless RELML_ORT_THREADS says otherwise, every onnxruntime kernel runs single-threaded.
 * Measured on the 2-core machine (bench/kernel_profile.ts, MLP 784-256-10, batch 128): 6.7 ms per step
 * with one thread against 16 ms with the default two, because each multi-threaded session keeps its own
 * spinning worker pool, which competes for the cores with the next kernel (RELML_ORT_SPIN=0: 9 ms). It has
 * to be set before the kernel backend loads, hence the dynamic import.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

process.env.RELML_ORT_THREADS ||= '1';
const { main } = await import('./commands.js');
export { main };

/** Run as a program (directly or through the npm bin link), not imported. */
function isMain(): boolean {
  try { return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; }
}
if (isMain()) {
  // `relml predict … | head`: a closed pipe ends the output quietly, as for any Unix filter.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); throw e; });
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`relml: internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
