/**
 * Sparse matrices in the front end: a constant from coordinates (`sparseTensor`), or an `input` bound to
 * a relation from `sparseRelation`, multiplied into dense tensors with `spmm`. The product is the TRA
 * plan a dense einsum "ij,jk->ik" lowers to — a join on A's column block = H's row block, then a sum
 * over that key — with the tile kernel 'spmm' reading A's compressed blocks, so its cost follows the
 * nonzeros; gradients flow through the kernel's derivative entries (dH = Aᵀ·G, dA = G·Hᵀ at A's nonzeros).
 */
import { ShapeError } from '../errors.js';
import '../kernels/sparse.js';
import * as tra from '../tra/build.js';
import { retileTo } from '../tra/lettered.js';
import { sparseRelation, type Coo, type SparseOptions } from '../tra/sparse.js';
import { fromRelation, Tensor } from './tensor.js';

/** A constant [n, m] sparse matrix from coordinates (duplicates add up), stored in CSR blocks of `tile`. */
export function sparseTensor(coo: Coo, shape: readonly [number, number], opts: SparseOptions = {}): Tensor {
  return fromRelation(sparseRelation(coo, shape, opts));
}

/**
 * A·H for A [n, m] whose relation holds CSR tiles (a sparseTensor, or an input bound to a sparseRelation)
 * and dense H [m, k]. H is re-tiled, if needed, so its row blocks match A's column blocks.
 */
export function spmm(A: Tensor, H: Tensor): Tensor {
  if (A.rank !== 2 || H.rank !== 2) throw new ShapeError(`spmm: needs matrices, got shapes [${A.shape}] and [${H.shape}]`);
  if (A.shape[1] !== H.shape[0]) throw new ShapeError(`spmm: A is [${A.shape}] but H has ${H.shape[0]} rows`, { a: A.shape, h: H.shape });
  if (A.dtype !== H.dtype) throw new ShapeError(`spmm: A is ${A.dtype} but H is ${H.dtype}`);
  const h = retileTo(H.node, [A.tile[1]!, H.tile[1]!]);
  // Join keys: (A's row block, shared block, H's column block); sum out the shared one.
  const joined = tra.join(A.node, h, [[1, 0]], { name: 'spmm', attrs: {} });
  return new Tensor(tra.aggregate(joined, [0, 2], 'sum'));
}
