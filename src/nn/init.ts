/** Seeded initialisers (fan-in/fan-out as PyTorch computes them: fan_in = shape[1]·receptive field). */
import { OptionError } from '../errors.js';
import { mulberry32 } from '../data/loader.js';

export type Init = 'kaimingUniform' | 'kaimingNormal' | 'xavierUniform' | 'xavierNormal' | 'zeros' | 'ones';

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  const rf = shape.slice(2).reduce((p, q) => p * q, 1);
  return { fanIn: shape[1]! * rf, fanOut: shape[0]! * rf };
}

/** Values for a parameter of `shape`; gain defaults to sqrt(2) (ReLU) for Kaiming, 1 for Xavier. */
export function initValues(kind: Init, shape: readonly number[], seed: number, gain?: number): Float64Array {
  const n = shape.reduce((p, q) => p * q, 1), out = new Float64Array(n);
  if (kind === 'zeros') return out;
  if (kind === 'ones') return out.fill(1);
  const { fanIn, fanOut } = fans(shape);
  const std = kind.startsWith('kaiming') ? (gain ?? Math.SQRT2) / Math.sqrt(fanIn) : (gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  const rnd = mulberry32(seed);
  if (kind === 'kaimingUniform' || kind === 'xavierUniform') {
    const bound = Math.sqrt(3) * std; // U(-b, b) has std b/sqrt(3)
    for (let i = 0; i < n; i++) out[i] = (2 * rnd() - 1) * bound;
  } else if (kind === 'kaimingNormal' || kind === 'xavierNormal') {
    for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()); // Box-Muller
  } else throw new OptionError('init', `unknown initialiser '${String(kind)}'`);
  return out;
}
