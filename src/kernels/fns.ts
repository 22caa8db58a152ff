/**
 * Scalar functions behind the elementwise kernels, with their derivatives. One table each, so adding a
 * function is one entry here (forward and derivative side by side) and every backend can read the list.
 */
export const UNARY_FNS = ['identity', 'neg', 'relu', 'exp', 'log', 'tanh', 'sigmoid', 'sqrt', 'abs', 'square',
  'recip', 'scale', 'addScalar', 'powScalar', 'stopGradient'] as const;
export type UnaryFn = (typeof UNARY_FNS)[number];

export const BINARY_FNS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow', 'eq'] as const;
export type BinaryFn = (typeof BINARY_FNS)[number];

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** f(x; alpha) for each unary function. */
export const unaryForward: Record<UnaryFn, (x: number, alpha: number) => number> = {
  identity: (x) => x,
  stopGradient: (x) => x,
  neg: (x) => -x,
  relu: (x) => (x > 0 || x !== x ? x : 0), // NaN stays NaN, as in PyTorch
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sigmoid,
  sqrt: Math.sqrt,
  abs: Math.abs,
  square: (x) => x * x,
  recip: (x) => 1 / x,
  scale: (x, a) => a * x,
  addScalar: (x, a) => x + a,
  powScalar: (x, a) => Math.pow(x, a),
};

/** df/dx at x. stopGradient's derivative is 0 by definition: it cuts the gradient. */
export const unaryDerivative: Record<UnaryFn, (x: number, alpha: number) => number> = {
  identity: () => 1,
  stopGradient: () => 0,
  neg: () => -1,
  relu: (x) => (x > 0 ? 1 : 0),
  exp: Math.exp,
  log: (x) => 1 / x,
  tanh: (x) => { const t = Math.tanh(x); return 1 - t * t; },
  sigmoid: (x) => { const s = sigmoid(x); return s * (1 - s); },
  sqrt: (x) => 0.5 / Math.sqrt(x),
  abs: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  square: (x) => 2 * x,
  recip: (x) => -1 / (x * x),
  scale: (_x, a) => a,
  addScalar: () => 1,
  powScalar: (x, a) => a * Math.pow(x, a - 1),
};

export const binaryForward: Record<BinaryFn, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: (a, b) => (a >= b ? a : b),
  min: (a, b) => (a <= b ? a : b),
  pow: Math.pow,
  eq: (a, b) => (a === b ? 1 : 0),
};

/** Partial derivatives [d/da, d/db]. max/min send the gradient to the first operand on ties, like PyTorch's maximum does half-half; we pick one side so gradients stay sparse. */
export const binaryPartials: Record<BinaryFn, [(a: number, b: number) => number, (a: number, b: number) => number]> = {
  add: [() => 1, () => 1],
  sub: [() => 1, () => -1],
  mul: [(_a, b) => b, (a) => a],
  div: [(_a, b) => 1 / b, (a, b) => -a / (b * b)],
  max: [(a, b) => (a >= b ? 1 : 0), (a, b) => (a >= b ? 0 : 1)],
  min: [(a, b) => (a <= b ? 1 : 0), (a, b) => (a <= b ? 0 : 1)],
  pow: [(a, b) => b * Math.pow(a, b - 1), (a, b) => Math.pow(a, b) * Math.log(a)],
  eq: [() => 0, () => 0],
};
