/**
 * The README's example: einsum -> plan -> explain -> run -> grad, then a two-layer MLP written with
 * einsum trained by gradient descent on a made-up 3-class problem. Run: npm run example
 */
import { add, einsum, explain, gradPlan, input, logsumexp, mean, mul, relu, runSync, sub, sum, tensor, toPlan, valueAndGrad, type Tensor } from '../src/index.js';

// 1. einsum over tiled tensors builds a TRA plan (nothing runs yet).
const A = input('A', [4, 6], { tile: [2, 3] });
const B = input('B', [6, 5], { tile: [3, 5] });
const C = einsum('ik,kj->ij', A, B);
const plan = toPlan({ C });
console.log(explain(plan));

// 2. Run it on the reference executor with dense data bound to the inputs.
const a = Array.from({ length: 24 }, (_, i) => i / 10), b = Array.from({ length: 30 }, (_, i) => (i % 7) - 3);
const [c] = runSync(plan, { A: { shape: [4, 6], data: a }, B: { shape: [6, 5], data: b } });
console.log('C[0,:] =', Array.from(c!.toDense().data.slice(0, 5)));

// 3. Gradients are relational plans too.
const f = (x: Tensor, w: Tensor) => sum(relu(einsum('ik,kj->ij', x, w)));
const args = [tensor(a, { shape: [4, 6], tile: [2, 3] }), tensor(b, { shape: [6, 5] })] as const;
console.log(explain(gradPlan((x, w) => f(x!, w!), args, [0, 1])));
const { value, grads } = valueAndGrad(f, { argnums: [0, 1] })(...args);
console.log('f =', value.item(), ' df/dA[0,:] =', Array.from(grads[0]!.dataSync().slice(0, 6)));

// 4. A two-layer MLP on three Gaussian blobs, trained with plain gradient descent.
export function blobs(n: number, seed = 1): { x: number[]; y: number[] } {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const centers = [[2, 0], [-1, 1.7], [-1, -1.7]];
  const x: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 3, u = Math.sqrt(-2 * Math.log(rnd() + 1e-12)), t = 2 * Math.PI * rnd();
    x.push(centers[k]![0]! + 0.6 * u * Math.cos(t), centers[k]![1]! + 0.6 * u * Math.sin(t));
    y.push(k);
  }
  return { x, y };
}

export function trainMlp(steps: number, log = true): { first: number; last: number; accuracy: number } {
  const n = 150, { x, y } = blobs(n);
  const X = tensor(x, { shape: [n, 2], tile: [50, 2] });
  const Y = tensor(y.flatMap((k) => [0, 1, 2].map((c) => (c === k ? 1 : 0))), { shape: [n, 3], tile: [50, 3] });
  const init = (shape: number[], sc: number, seed: number) => { let s = seed; return tensor(Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * sc), { shape }); };
  let params = [init([2, 16], 1.5, 7), init([16], 0.1, 11), init([16, 3], 1, 13), init([3], 0.1, 17)];
  const logits = (W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) => add(einsum('bi,ih->bh', relu(add(einsum('bi,ih->bh', X, W1), b1)), W2), b2);
  const loss = (W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) => {
    const z = logits(W1, b1, W2, b2);
    return mean(sub(logsumexp(z, 1), sum(mul(z, Y), 1)));
  };
  const step = valueAndGrad(loss, { argnums: [0, 1, 2, 3] });
  let first = NaN, last = NaN;
  for (let t = 0; t < steps; t++) {
    const { value, grads } = step(...(params as [Tensor, Tensor, Tensor, Tensor]));
    last = value.item();
    if (t === 0) first = last;
    if (log && t % 20 === 0) console.log(`step ${t} loss ${last.toFixed(4)}`);
    params = params.map((p, i) => tensor(add(p, mul(grads[i]!, -0.5)).dataSync(), { shape: p.shape }));
  }
  const z = logits(...(params as [Tensor, Tensor, Tensor, Tensor])).dataSync();
  let correct = 0;
  for (let i = 0; i < n; i++) { const row = [0, 1, 2].map((c) => z[i * 3 + c]!); if (row.indexOf(Math.max(...row)) === y[i]) correct++; }
  return { first, last, accuracy: correct / n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = trainMlp(100);
  console.log(`MLP: loss ${r.first.toFixed(4)} -> ${r.last.toFixed(4)}, training accuracy ${(100 * r.accuracy).toFixed(1)}%`);
}
