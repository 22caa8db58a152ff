/**
 * Seeded randomness and mini-batching. Everything random in training (shuffles, partitions) flows from an
 * explicit integer seed so that a run, and a run resumed from a checkpoint, is reproducible bit for bit.
 */
import { OptionError, ShapeError } from '../errors.js';

/**
 * mulberry32: a 32-bit state PRNG (Tommy Ettinger, public domain). Returns a function giving floats in [0, 1)
 * with 32 random bits each. Small, fast and fully determined by the seed; not for cryptography.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Derive a child seed from (seed, stream), e.g. (run seed, epoch), with the splitmix32-style finalizer, so
 * nearby inputs give unrelated seeds and epoch e's order depends only on (seed, e), not on what ran before.
 */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul((stream >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

/** Uniform integer in [0, n). */
export function randInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/** Fisher-Yates shuffle in place (every permutation equally likely); returns its argument. */
export function shuffle<T extends { length: number; [i: number]: any }>(arr: T, rng: () => number): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffle(p, rng);
}

export interface Batch {
  /** Row-major features, size * rowSize. */
  x: Float32Array;
  y: Int32Array;
  /** Rows in this batch (less than batchSize only for the last batch when dropLast is false). */
  size: number;
  /** Index of this batch within its epoch. */
  index: number;
}

export interface DataLoaderOptions {
  batchSize: number;
  /** Reshuffle each epoch (default true). When false, rows come in storage order. */
  shuffle?: boolean;
  seed?: number;
  /** Skip a final partial batch (default false). */
  dropLast?: boolean;
}

/** Mini-batches over (features, labels); the row order of epoch e depends only on (seed, e), for resuming. */
export class DataLoader {
  readonly n: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;

  constructor(readonly features: Float32Array, readonly rowSize: number, readonly labels: Int32Array, opts: DataLoaderOptions) {
    if (!Number.isSafeInteger(rowSize) || rowSize <= 0) throw new OptionError('rowSize', `must be a positive integer, got ${rowSize}`);
    if (!Number.isSafeInteger(opts.batchSize) || opts.batchSize <= 0) throw new OptionError('batchSize', `must be a positive integer, got ${opts.batchSize}`);
    if (features.length !== labels.length * rowSize) {
      throw new ShapeError(`DataLoader: ${labels.length} labels need ${labels.length * rowSize} features (rowSize ${rowSize}), got ${features.length}`,
        { rows: labels.length, rowSize, features: features.length });
    }
    this.n = labels.length;
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
  }

  /** Batches per epoch. */
  get numBatches(): number {
    return this.dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
  }

  /** The row order of epoch `epoch`. */
  order(epoch: number): Int32Array {
    if (!this.shuffle) return Int32Array.from({ length: this.n }, (_, i) => i);
    return permutation(this.n, mulberry32(deriveSeed(this.seed, epoch)));
  }

  /** The batches of epoch `epoch`, starting at batch `startBatch` (to resume mid-epoch). */
  *epoch(epoch: number, startBatch = 0): Generator<Batch> {
    if (!Number.isSafeInteger(startBatch) || startBatch < 0 || startBatch > this.numBatches) {
      throw new OptionError('startBatch', `must be an integer in 0..${this.numBatches}, got ${startBatch}`);
    }
    const order = this.order(epoch);
    const r = this.rowSize;
    for (let b = startBatch; b < this.numBatches; b++) {
      const lo = b * this.batchSize;
      const size = Math.min(this.batchSize, this.n - lo);
      const x = new Float32Array(size * r);
      const y = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        const row = order[lo + i]!;
        x.set(this.features.subarray(row * r, row * r + r), i * r);
        y[i] = this.labels[row]!;
      }
      yield { x, y, size, index: b };
    }
  }
}
