/** The command line's models, built from a seed (each layer's initialiser gets its own derived seed). */
import { deriveSeed } from '../data/loader.js';
import { OptionError } from '../errors.js';
import { Activation, Conv2d, Flatten, Linear, MaxPool2d } from '../nn/layers.js';
import { Sequential, type Module } from '../nn/module.js';

export const MODELS = ['mlp', 'cnn'] as const;
export type ModelKind = (typeof MODELS)[number];

/** The input shape of one example for each model. */
export function exampleShape(kind: ModelKind): number[] {
  return kind === 'mlp' ? [784] : [1, 28, 28];
}

/**
 * mlp: 784-256-10 with ReLU. cnn: conv 1->16 3x3, ReLU, max-pool 2, conv 16->32 3x3, ReLU, max-pool 2,
 * linear 32·5·5 -> 10. Layouts follow PyTorch. Weights are Kaiming-uniform with gain 1 (bound √3/√fan_in;
 * PyTorch's default bound is 1/√fan_in), biases start at zero.
 */
export function buildModel(kind: ModelKind, seed: number): Module {
  const s = (i: number) => deriveSeed(seed, 1000 + i);
  if (kind === 'mlp') return new Sequential(new Linear(784, 256, { seed: s(0) }), new Activation('relu'), new Linear(256, 10, { seed: s(1) }));
  if (kind === 'cnn') {
    return new Sequential(
      new Conv2d(1, 16, 3, { seed: s(0) }), new Activation('relu'), new MaxPool2d({ kernel: 2 }),
      new Conv2d(16, 32, 3, { seed: s(1) }), new Activation('relu'), new MaxPool2d({ kernel: 2 }),
      new Flatten(), new Linear(32 * 5 * 5, 10, { seed: s(2) }),
    );
  }
  throw new OptionError('--model', `expected one of ${MODELS.join(', ')}, got ${JSON.stringify(kind)}`);
}
