/**
 * `npm run bench -- NAME [options]`: one entry point for the benchmark scripts.
 *   engine      issue 3: matmul vs bare kernel / numpy / tfjs-wasm, chain, MLP step, sites, bytes (default)
 *   kernels     kernel backends alone: matmul GFLOP/s vs numpy, per-call overhead
 *   train       issue 4: Fashion-MNIST epochs, relml vs PyTorch vs tfjs-wasm
 *   sql-matmul  issue 5: dense tile products on DuckDB / PostgreSQL
 *   sql-gcn     issue 5: GCN epochs on a generated graph
 *   sql-spmm-bound  issue 5: the GCN's sparse products as hand-written SQL (a floor for SQL-evaluated epochs)
 * Options after the name go to the script (each documents its own).
 */
const SCRIPTS: Record<string, string> = {
  engine: './engine.js', kernels: './kernels.js', train: './train_compare.js', 'sql-matmul': './sql_matmul.js', 'sql-gcn': './sql_gcn.js', 'sql-spmm-bound': './sql_spmm_bound.js',
};

const [name = 'engine', ...rest] = process.argv.slice(2);
const script = SCRIPTS[name];
if (!script) {
  console.error(`unknown benchmark '${name}'; one of: ${Object.keys(SCRIPTS).join(', ')}`);
  process.exit(2);
}
process.argv = [process.argv[0]!, new URL(script, import.meta.url).pathname, ...rest];
await import(script);
