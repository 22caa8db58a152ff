/** map(R; kernel): applies a unary tile kernel to every tuple; keys unchanged. */
import { describeCall, type KernelCall } from '../../kernels/registry.js';
import { checkKernel, kernelTileDims } from './join.js';
import type { OpDef } from './types.js';

export const map: OpDef = {
  arity: 1,
  infer: ([R], attrs) => {
    const kernel = checkKernel('map', attrs.kernel, 1);
    return { keys: R!.keys, tile: kernelTileDims(kernel, [R!.tile], [R!.keys.map((_, i) => i)]), dtype: R!.dtype };
  },
  describe: (attrs) => describeCall(attrs.kernel as KernelCall),
};
