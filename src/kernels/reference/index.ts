/** The pure-TypeScript reference backend: the living definition of every kernel. */
import { makeTile } from '../../tile.js';
import '../defs.js';
import { registerKernelImpl } from '../registry.js';
import { einsumGradTile, einsumTiles } from './einsum.js';
import { binaryPartialTile, binaryTile, fusedTile, unaryGradTile, unaryTile } from './elementwise.js';
import { logsumexpGradTile, logsumexpTile, reduceGradTile, reduceTile, softmaxGradTile, softmaxTile } from './reduce.js';

export const REFERENCE = 'reference';
const r = (name: string, impl: Parameters<typeof registerKernelImpl>[2]) => registerKernelImpl(REFERENCE, name, impl);

r('einsum', (t, a, _s, dt) => einsumTiles(a.spec as string, t, dt));
r('unary', (t, a, _s, dt) => unaryTile(t[0]!, a, dt));
r('binary', (t, a, s, dt) => binaryTile(t[0]!, t[1]!, a, s, dt));
r('reduce', (t, a, s, dt) => reduceTile(t[0]!, a, s, dt));
r('softmax', (t, a, _s, dt) => softmaxTile(t[0]!, a, dt));
r('logsumexp', (t, a, s, dt) => logsumexpTile(t[0]!, a, s, dt));
r('reshape', (t, _a, s, dt) => makeTile(s, dt, t[0]!.dtype === dt ? t[0]!.data.slice() : t[0]!.data));
r('unaryGrad', (t, a, _s, dt) => unaryGradTile(t[0]!, t[1]!, a, dt));
r('einsumGrad', (t, a, _s, dt) => einsumGradTile(a.spec as string, t[0]!, t[1]!, dt));
r('softmaxGrad', (t, a, _s, dt) => softmaxGradTile(t[0]!, t[1]!, a, dt));
r('logsumexpGrad', (t, a, _s, dt) => logsumexpGradTile(t[0]!, t[1]!, a, dt));
r('reduceGrad', (t, a, _s, dt) => reduceGradTile(t[0]!, t[1]!, a, dt));
r('reshapeGrad', (t, _a, s, dt) => makeTile(s, dt, t[1]!.dtype === dt ? t[1]!.data.slice() : t[1]!.data));
r('binaryPartial', (t, a, s, dt) => binaryPartialTile(t[0]!, t[1]!, a, s, dt));
r('second', (t, _a, _s, dt) => (t[1]!.dtype === dt ? t[1]! : makeTile(t[1]!.shape, dt, t[1]!.data)));
r('expandDims', (t, _a, s, dt) => makeTile(s, dt, t[0]!.dtype === dt ? t[0]!.data.slice() : t[0]!.data));
r('fused', (t, a, s, dt) => fusedTile(t, a, s, dt));
