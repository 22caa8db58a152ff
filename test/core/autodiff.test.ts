/** Autodiff regressions, each checked against finite differences. */
import { test } from 'node:test';
import * as r from '../../src/index.js';
import { checkGrad } from '../helpers/grad_check.js';
import { randomData, rng } from '../helpers/dense.js';

test('gradients reaching one node through a reshape and through an einsum add up (tied and untied whole tile dims)', () => {
  // z has two consumers; the reshape path yields an untied [4,3] gradient, the einsum path a tied one.
  const f = (x: r.Tensor, w: r.Tensor, y: r.Tensor) => {
    const z = r.einsum('bi,ic->bc', r.reshape(x, [4, 6]), w);
    return r.sub(r.mean(r.logsumexp(z, 1)), r.div(r.einsum('bc,bc->', z, y), 4));
  };
  const rand = rng(8);
  checkGrad((x, w, y) => f(x!, w!, y!), [[4, 2, 3], [6, 3], [4, 3]], [randomData(24, rand), randomData(18, rand), randomData(12, rand)]);
});
