/**
 * Split a labelled data set among K clients (federated learning). Three schemes, from benign to hostile:
 * IID, label shards (each client sees only a few classes), and Dirichlet(alpha) label skew. All are seeded,
 * and every index 0..n-1 goes to exactly one client.
 */
import { OptionError } from '../errors.js';
import { deriveSeed, mulberry32, permutation, shuffle } from './loader.js';

function checkClients(k: number): void {
  if (!Number.isSafeInteger(k) || k <= 0) throw new OptionError('clients', `must be a positive integer, got ${k}`);
}

/** Indices grouped by label value (labels must be non-negative integers). */
function byLabel(labels: ArrayLike<number>): number[][] {
  const groups: number[][] = [];
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0) throw new OptionError('labels', `label at row ${i} must be a non-negative integer, got ${y}`);
    (groups[y] ??= []).push(i);
  }
  for (let c = 0; c < groups.length; c++) groups[c] ??= [];
  return groups;
}

/** Deal `items` in turn into parts of sizes as equal as possible (first parts get the remainder). */
function splitEven(items: ArrayLike<number>, parts: number): number[][] {
  const out: number[][] = [];
  for (let p = 0, lo = 0; p < parts; p++) {
    const hi = lo + Math.floor(items.length / parts) + (p < items.length % parts ? 1 : 0);
    out.push(Array.from({ length: hi - lo }, (_, i) => items[lo + i]!));
    lo = hi;
  }
  return out;
}

/** IID: a seeded shuffle of 0..n-1 cut into K near-equal parts. */
export function partitionIid(n: number, k: number, seed: number): number[][] {
  checkClients(k);
  return splitEven(permutation(n, mulberry32(deriveSeed(seed, 1))), k);
}

/**
 * Label shards: each client holds exactly `labelsPerClient` distinct classes. Client c takes class slots
 * c*L .. c*L+L-1 of a seeded class order repeated round-robin, so with K*L >= classes every class is held by
 * someone; each class's rows are then split evenly among its holders.
 */
export function partitionByLabel(labels: ArrayLike<number>, k: number, labelsPerClient: number, seed: number): number[][] {
  checkClients(k);
  // Only labels that occur count as classes, so no client is handed an empty class.
  const groups = byLabel(labels).filter((g) => g.length > 0);
  const nc = groups.length;
  const L = labelsPerClient;
  if (!Number.isSafeInteger(L) || L <= 0 || L > nc) throw new OptionError('labelsPerClient', `must be an integer in 1..${nc}, got ${L}`);
  if (k * L < nc) throw new OptionError('labelsPerClient', `${k} clients x ${L} classes cannot cover all ${nc} classes`);
  const rng = mulberry32(deriveSeed(seed, 2));
  const classOrder = permutation(nc, rng);
  const holders: number[][] = Array.from({ length: nc }, () => []);
  for (let c = 0; c < k; c++) for (let j = 0; j < L; j++) holders[classOrder[(c * L + j) % nc]!]!.push(c);
  const out: number[][] = Array.from({ length: k }, () => []);
  for (let cls = 0; cls < nc; cls++) {
    const rows = shuffle(groups[cls]!.slice(), rng);
    splitEven(rows, holders[cls]!.length).forEach((part, i) => out[holders[cls]![i]!]!.push(...part));
  }
  return out;
}

/** A standard normal draw (Box-Muller). */
function normal(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/**
 * log of a Gamma(a, 1) draw (Marsaglia-Tsang). Returned in log space because for small a the draws underflow
 * to 0 in floating point, which would make Dirichlet(0.01) proportions 0/0.
 */
function logGamma(a: number, rng: () => number): number {
  if (a < 1) return logGamma(a + 1, rng) + Math.log(1 - rng()) / a; // Gamma(a) = Gamma(a+1) * U^(1/a)
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rng);
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}

/** A Dirichlet(alpha, ..., alpha) draw over k parts. */
export function dirichlet(k: number, alpha: number, rng: () => number): number[] {
  const logs = Array.from({ length: k }, () => logGamma(alpha, rng));
  const m = Math.max(...logs);
  const w = logs.map((l) => Math.exp(l - m));
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/**
 * Dirichlet label skew: for each class, draw client proportions p ~ Dir(alpha) and cut that class's shuffled
 * rows at the cumulative proportions. Small alpha (0.1) gives clients dominated by one or two classes; large
 * alpha (100) approaches IID. With small alpha a client may receive no rows at all.
 */
export function partitionDirichlet(labels: ArrayLike<number>, k: number, alpha: number, seed: number): number[][] {
  checkClients(k);
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new OptionError('alpha', `must be a positive number, got ${alpha}`);
  const rng = mulberry32(deriveSeed(seed, 3));
  const out: number[][] = Array.from({ length: k }, () => []);
  for (const group of byLabel(labels)) {
    const rows = shuffle(group.slice(), rng);
    const p = dirichlet(k, alpha, rng);
    let lo = 0;
    let cum = 0;
    for (let c = 0; c < k; c++) {
      cum += p[c]!;
      // The last client takes the rest, so rounding never drops or duplicates a row.
      const hi = c === k - 1 ? rows.length : Math.min(rows.length, Math.round(cum * rows.length));
      for (let i = lo; i < hi; i++) out[c]!.push(rows[i]!);
      lo = Math.max(lo, hi);
    }
  }
  return out;
}
