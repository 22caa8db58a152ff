/** relml's public API. */
import './kernels/defs.js';
import './kernels/reference/index.js';
// Before anything loads the ort backend, which copies the reference implementations it has no lowering for
// (im2col/col2im would otherwise be missing on 'ort', e.g. for a CNN on InprocExecutor).
import './kernels/conv.js';
import './kernels/conv2d.js';

export * from './errors.js';
export { makeTile, type DType, type Tile, type TileData } from './tile.js';
export { defineKernel, registerKernelImpl, kernelNames, kernelImpl, applyKernel, type KernelCall, type KernelDef, type KernelImpl } from './kernels/registry.js';
export { Relation, type Tuple } from './tra/relation.js';
export { denseSchema, isDense, schemaString, type Schema, type TileDim } from './tra/schema.js';
export * as tra from './tra/build.js';
export { Plan, type PlanJSON } from './tra/plan.js';
export { explain } from './plan/explain.js';
export { optimize, PASSES, type OptimizeOptions, type PassName } from './plan/optimizer.js';
export { explainIA, type IAPlan, type IAStep } from './plan/ia.js';
export type { Placement } from './plan/placement.js';
export type { Node } from './tra/node.js';
export { vjp, scalarOne } from './autodiff/vjp.js';
export { runSync, referenceExecutor } from './exec/reference/index.js';
export { InprocExecutor, SiteError, type InprocOptions, type RunReport } from './exec/inproc/index.js';
export type { Executor, Bindings, Binding, RunOptions } from './exec/executor.js';
export { Tensor, tensor, input, fromRelation, toPlan, type NestedArray } from './frontend/tensor.js';
export { einsum, type EinsumOptions } from './frontend/einsum/lower.js';
export { parseEinsum } from './frontend/einsum/parse.js';
export * from './frontend/ops/elementwise.js';
export { sum, mean, max, min, softmax, logSoftmax, logsumexp, expandDims } from './frontend/ops/reduce.js';
export { transpose, reshape, slice, pad, concat, retile } from './frontend/ops/shape.js';
export { grad, valueAndGrad, gradPlan, type GradOptions } from './frontend/grad.js';
export { sparseTensor, spmm } from './frontend/sparse.js';
export { sparseRelation, sparseToDense, type Coo, type SparseOptions } from './tra/sparse.js';
export { closeSparsePool, sparseKernelOptions, type SparseKernelOptions } from './kernels/spmm_pool.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
