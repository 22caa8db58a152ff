/**
 * The GCN epoch of bench/sql_gcn.ts on relml's in-process executor and on PyTorch, same generated graph,
 * init, loss and SGD step:
 *   inproc  the adjacency as a relation of CSR block tiles (row blocks of --arows rows × all columns),
 *           spmm for A·H (and spmmT for Aᵀ·G in the gradient), dense products on the ort backend
 *           (onnxruntime MatMul), float32, one site;
 *   torch   /usr/bin/python3 bench/torch_gcn.py: torch.sparse.mm on the same edges, float32, 2 threads.
 * Both print seconds per epoch (forward + relational-autodiff / autograd gradients + SGD update) and loss.
 */
import { spawnSync } from 'node:child_process';
import * as r from '../src/index.js';
import { gradPlan, input, InprocExecutor, Relation, sparseRelation, type Tensor } from '../src/index.js';
import { denseSchema } from '../src/tra/schema.js';
import { makeTile } from '../src/tile.js';

export interface GcnSpec {
  N: number; M: number; F: number; HD: number; C: number; LR: number; EPOCHS: number;
  srcOf: (e: number) => number; dstOf: (e: number) => number; xOf: (n: number, f: number) => number;
  classOf: (n: number) => number; w1Of: (f: number, h: number) => number; w2Of: (h: number, c: number) => number;
}

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]!; };

/** The symmetric adjacency with self loops, row-normalised (w = 1/deg(src)), as COO sorted by (src, dst). */
export function adjacency(s: GcnSpec): { rows: Int32Array; cols: Int32Array; values: Float64Array } {
  const { N, M } = s;
  // Keys src*N+dst (< 2^53), deduplicated by sorting: the SQL tables' SELECT DISTINCT.
  const keys = new Float64Array(2 * M + N);
  for (let e = 0; e < M; e++) { const a = s.srcOf(e), b = s.dstOf(e); keys[2 * e] = a * N + b; keys[2 * e + 1] = b * N + a; }
  for (let n = 0; n < N; n++) keys[2 * M + n] = n * N + n;
  keys.sort();
  let nnz = 0;
  for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[i - 1]) keys[nnz++] = keys[i]!;
  const rows = new Int32Array(nnz), cols = new Int32Array(nnz), deg = new Int32Array(N);
  for (let i = 0; i < nnz; i++) { rows[i] = Math.floor(keys[i]! / N); cols[i] = keys[i]! % N; deg[rows[i]!]++; }
  return { rows, cols, values: Float64Array.from(rows, (a) => 1 / deg[a]!) };
}

export async function inprocEpochs(s: GcnSpec, opts: { arows: number; rowtile: number; sites?: number }): Promise<{ secs: number; losses: number[] }> {
  const { N, F, HD, C, LR } = s, nTrain = Math.ceil(N / 2), B = Math.min(N, opts.rowtile), BA = Math.min(N, opts.arows);
  const t0 = performance.now();
  const coo = adjacency(s);
  const A = sparseRelation(coo, [N, N], { tile: [BA, N], dtype: 'float32', name: 'A' });
  const X = new Float32Array(N * F);
  for (let n = 0; n < N; n++) for (let f = 0; f < F; f++) X[n * F + f] = s.xOf(n, f);
  // Labels of the even nodes as one-hot rows; odd rows stay zero (the SQL labels table has no rows for them).
  const Y = new Float32Array(N * C);
  for (let n = 0; n < N; n += 2) Y[n * C + s.classOf(n)] = 1;
  const w1 = Float32Array.from({ length: F * HD }, (_, j) => s.w1Of(Math.floor(j / HD), j % HD));
  const w2 = Float32Array.from({ length: HD * C }, (_, j) => s.w2Of(Math.floor(j / C), j % C));
  const f32 = { dtype: 'float32' as const };
  const loss = (a: Tensor, x: Tensor, y: Tensor, W1: Tensor, W2: Tensor) => {
    const h = r.relu(r.spmm(a, r.einsum('jf,fh->jh', x, W1)));
    const z = r.spmm(a, r.einsum('jh,hc->jc', h, W2));
    return r.div(r.neg(r.sum(r.mul(y, r.logSoftmax(z, 1)))), nTrain);
  };
  const plan = gradPlan(loss, [input('A', [N, N], { ...f32, tile: [BA, N] }), input('X', [N, F], { ...f32, tile: [B, F] }),
    input('Y', [N, C], { ...f32, tile: [B, C] }), input('W1', [F, HD], f32), input('W2', [HD, C], f32)], [3, 4]);
  const ex = new InprocExecutor({ sites: opts.sites ?? 1 });
  const one = (name: string, shape: number[], data: Float32Array) => {
    const rel = new Relation(denseSchema(shape, shape, 'float32'), name);
    rel.set([0, 0], makeTile(shape, 'float32', data));
    return rel;
  };
  const Xr = Relation.fromDense(X, [N, F], { tile: [B, F], dtype: 'float32', name: 'X' }), Yr = Relation.fromDense(Y, [N, C], { tile: [B, C], dtype: 'float32', name: 'Y' });
  console.log(`inproc: data built in ${((performance.now() - t0) / 1000).toFixed(1)} s (${coo.rows.length} nonzeros in ${A.size} CSR block(s) of ${BA} rows; feature row tiles ${B}; backend ${ex.backend}, float32, ${ex.sites} site(s))`);
  const times: number[] = [], losses: number[] = [];
  try {
    for (let ep = 0; ep < s.EPOCHS; ep++) {
      const t1 = performance.now();
      const [v, g1, g2] = await ex.run(plan, { arg0: A, arg1: Xr, arg2: Yr, arg3: one('W1', [F, HD], w1), arg4: one('W2', [HD, C], w2) }, { checkFinite: false });
      const d1 = g1!.toDense().data, d2 = g2!.toDense().data;
      for (let j = 0; j < w1.length; j++) w1[j]! -= LR * d1[j]!;
      for (let j = 0; j < w2.length; j++) w2[j]! -= LR * d2[j]!;
      times.push((performance.now() - t1) / 1000);
      losses.push(v!.toDense().data[0]!);
      if (!Number.isFinite(losses[ep]!)) throw new Error(`inproc: loss ${losses[ep]} at epoch ${ep}`);
      console.log(`inproc: epoch ${ep}: loss ${losses[ep]!.toFixed(6)}, ${times[ep]!.toFixed(2)} s`);
    }
  } finally { await ex.close(); }
  console.log(`RESULT inproc (relml in-process, spmm + ort, float32, ${ex.sites} site(s)): ${median(times).toFixed(2)} s/epoch (median of ${s.EPOCHS})`);
  return { secs: median(times), losses };
}

/** PyTorch's epochs (a subprocess), in the BLAS configuration given by `env`. */
export function torchEpochs(s: GcnSpec, env: Record<string, string> = {}, label = '', layout = 'csr'): { secs: number; losses: number[] } | null {
  const args = ['bench/torch_gcn.py', '--nodes', String(s.N), '--edges', String(s.M), '--features', String(s.F), '--hidden', String(s.HD),
    '--classes', String(s.C), '--lr', String(s.LR), '--epochs', String(s.EPOCHS), '--threads', '2', '--layout', layout];
  const p = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, ...env } });
  if (p.status !== 0) { console.log(`torch${label} unavailable: ${(p.stderr || p.error?.message || '').trim().split('\n').pop()}`); return null; }
  const times: number[] = [], losses: number[] = [];
  for (const line of p.stdout.trim().split('\n')) {
    if (!line.startsWith('{')) { console.log(`torch${label}: ${line}`); continue; }
    const j = JSON.parse(line) as { epoch: number; seconds: number; loss: number };
    times.push(j.seconds); losses.push(j.loss);
    console.log(`torch${label}: epoch ${j.epoch}: loss ${j.loss.toFixed(6)}, ${j.seconds.toFixed(2)} s`);
  }
  console.log(`RESULT torch${label} (PyTorch, torch.sparse.mm, float32, 2 threads): ${median(times).toFixed(2)} s/epoch (median of ${times.length})`);
  return { secs: median(times), losses };
}

/** BLAS configurations of Debian's python3-torch (libopenblas0-pthread installed; the reference BLAS by path). */
const BLAS: Record<string, Record<string, string>> = {
  openblas1: { OPENBLAS_NUM_THREADS: '1' }, openblas2: { OPENBLAS_NUM_THREADS: '2' },
  reference: { LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/blas' },
};

/**
 * Runs PyTorch once per configuration 'blas/layout' (layout csr or coo: torch's two sparse formats; a bare
 * BLAS name runs both); seconds per epoch by 'torch:<config>'.
 */
export function torchConfigs(s: GcnSpec, names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names.flatMap((n) => (n.includes('/') ? [n] : [`${n}/csr`, `${n}/coo`]))) {
    const [blas, layout] = name.split('/') as [string, string];
    const env = BLAS[blas];
    if (!env || !['csr', 'coo'].includes(layout)) throw new Error(`--torch-blas: unknown configuration '${name}' (BLAS: ${Object.keys(BLAS).join(', ')}; layout csr or coo)`);
    const res = torchEpochs(s, env, ` (${name})`, layout);
    if (res) out[`torch:${name}`] = res.secs;
  }
  return out;
}
