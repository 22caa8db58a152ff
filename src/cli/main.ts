#!/usr/bin/env node
/**
 * The `relml` program (package.json "bin"); the commands are in commands.ts.
 *
 * Kernel threads: onnxruntime's default (session.ts MAX_THREADS: all cores up to 4). A one-site training
 * step runs as one composed graph (exec/inproc/graph.ts), a single session whose two threads split the
 * large convolutions and matmuls: measured on the 2-core machine, the CNN epoch took 11.7 s with two
 * threads against 12.7 s with one, the MLP's 1.17 s against 1.20 s. (Before the graph path each kernel was
 * its own session with its own pool, and one thread was faster; RELML_ORT_THREADS=1 still selects it.)
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from './commands.js';

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
