/** Learning-rate schedules: pure functions of the step number (0-based), composable by warmup(). */
import { OptionError } from '../errors.js';
import { checkPositive } from './optimizer.js';

export type Schedule = (step: number) => number;

/** lr·gamma^floor(step/stepSize). */
export function stepLR(lr: number, stepSize: number, gamma = 0.1): Schedule {
  if (!Number.isInteger(stepSize) || stepSize < 1) throw new OptionError('stepSize', `must be a positive integer, got ${stepSize}`);
  checkPositive('gamma', gamma);
  return (t) => lr * gamma ** Math.floor(t / stepSize);
}

/** Cosine annealing from lr to minLr over `total` steps, then minLr. */
export function cosineLR(lr: number, total: number, minLr = 0): Schedule {
  if (!Number.isInteger(total) || total < 1) throw new OptionError('total', `must be a positive integer, got ${total}`);
  return (t) => minLr + 0.5 * (lr - minLr) * (1 + Math.cos(Math.PI * Math.min(t, total) / total));
}

/** Linear warm-up from 0 over `steps` steps (step t gets (t+1)/steps of the rate), then `after`. */
export function warmup(steps: number, after: Schedule): Schedule {
  if (!Number.isInteger(steps) || steps < 0) throw new OptionError('warmup', `must be a non-negative integer, got ${steps}`);
  return (t) => (t < steps ? after(0) * (t + 1) / steps : after(t - steps));
}
