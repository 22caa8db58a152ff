/**
 * Kernels as SQL, in the scalar payload representation: a relation is a table of rows
 * (k0..k{n-1}, i0..i{m-1}, v), one row per element of every present tile, where k are the key columns,
 * i the element's index inside its tile and v its value (DOUBLE). In that representation
 * - elementwise kernels (unary, binary with broadcasting, their derivatives, `second`) are expressions
 *   over v, with broadcasting as a join on the element indices the operands share;
 * - einsum is a join on the shared letters' element indices plus GROUP BY over the output letters
 *   (repeated letters are equalities between index columns: diagonals);
 * - reductions are GROUP BY, softmax / logsumexp and their derivatives are window functions
 *   partitioned by the key and the non-reduced indices;
 * - reshape and expandDims are index arithmetic.
 * Every kernel in src/kernels/defs.ts is lowered here; any other kernel raises a KernelError naming it.
 * Constants from kernel attributes (alpha) are statement parameters; index positions and sizes come from
 * the validated plan and are rendered by sqlInt.
 */
import { KernelError } from '../../errors.js';
import { binaryAxes, reduceAxes } from '../../kernels/defs.js';
import type { BinaryFn, UnaryFn } from '../../kernels/fns.js';
import type { KernelCall } from '../../kernels/registry.js';
import { parseTileSpec } from '../../kernels/tile_spec.js';
import type { JoinOn } from '../../tra/ops/join.js';
import { stridesOf } from '../../tile.js';
import type { Node } from '../../tra/node.js';
import type { Schema } from '../../tra/schema.js';
import type { Dialect, Params } from './engine.js';
import { sqlInt } from './ident.js';
import { scalarView } from './payload.js';

/** A relation as the lowering sees it: something to put in FROM, its key count and nominal tile sizes. */
export interface Src {
  readonly from: string;
  readonly keys: number;
  readonly sizes: readonly number[];
  /** Key bounds (when known: needed by the key-contraction product, keyDot). */
  readonly bounds?: readonly number[];
  /** Stored as tiles (payload.ts): one row per tile, keys and the list `t`; `schema` is then required. */
  readonly tile?: boolean;
  readonly schema?: Schema;
}

/** The source as scalar rows: a tile-payload source is read through its unnest view. */
export function asScalar(S: Src, d: Dialect): Src {
  return S.tile ? { ...S, from: scalarView(S.from, S.schema!, d), tile: false } : S;
}

export interface Ctx {
  readonly params: Params;
  readonly dialect: Dialect;
  /**
   * Contract einsum joins with vector dot products (DuckDB's list_dot_product) when the contracted
   * letters cover at least this many elements per tile pair; Infinity = always scalar join + GROUP BY.
   */
  readonly listDotMin?: number;
  /**
   * Key contraction (keyDot): a sum aggregation of an einsum join that sums over joined key dimensions is
   * contracted with list_dot_product over vectors indexed by (summed keys, contracted letters) when both
   * operands' tiles hold at least this many elements (DuckDB only; Infinity = never). See keyDot.
   */
  readonly keyDotMinTile?: number;
  /** Whether a plan node is stored as tiles (payload.ts); absent = every node is scalar rows. */
  readonly isTile?: (n: Node) => boolean;
  /**
   * Largest operand (key bounds × tile elements) whose vectors listDot / keyDot may gather with list()
   * inside a statement (default unlimited). list() states do not spill: under a small memory_limit, larger
   * operands take the scalar join + GROUP BY, which does.
   */
  readonly gatherMax?: number;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
export const kcols = (alias: string, n: number): string[] => range(n).map((j) => `${alias}.k${j}`);
export const icols = (alias: string, n: number): string[] => range(n).map((j) => `${alias}.i${j}`);

/** `e AS k0, …, e AS i0, …, e AS v` */
export function selectList(keys: readonly string[], idx: readonly string[], v: string): string {
  return [...keys.map((e, j) => `${e} AS k${j}`), ...idx.map((e, j) => `${e} AS i${j}`), `${v} AS v`].join(', ');
}

export function groupClause(exprs: readonly string[]): string {
  // With no grouping columns an aggregate over no rows still yields one row: drop it (no tuples in, none out).
  return exprs.length ? ` GROUP BY ${exprs.join(', ')}` : ' HAVING COUNT(*) > 0';
}

const partition = (exprs: readonly string[]): string => (exprs.length ? `PARTITION BY ${exprs.join(', ')}` : '');
const and = (conds: readonly string[]): string => (conds.length ? conds.join(' AND ') : 'TRUE');

// ---- scalar functions ----

function alphaOf(call: Readonly<Record<string, unknown>>, ctx: Ctx): string {
  const a = (call.alpha as number | undefined) ?? 0;
  if (typeof a !== 'number') throw new KernelError('unary', `attribute 'alpha' must be a number, got ${JSON.stringify(a)}`);
  return ctx.params.add(a);
}

const sigmoid = (x: string): string => `(CASE WHEN ${x} >= 0 THEN 1 / (1 + exp(-(${x}))) ELSE exp(${x}) / (1 + exp(${x})) END)`;

export function unaryExpr(fn: UnaryFn, x: string, attrs: Readonly<Record<string, unknown>>, ctx: Ctx): string {
  switch (fn) {
    case 'identity': case 'stopGradient': return x;
    case 'neg': return `(-(${x}))`;
    case 'relu': return `(CASE WHEN ${x} > 0 THEN ${x} ELSE 0 END)`;
    case 'exp': return `exp(${x})`;
    case 'log': return `ln(${x})`;
    case 'tanh': return `tanh(${x})`;
    case 'sigmoid': return sigmoid(x);
    case 'sqrt': return `sqrt(${x})`;
    case 'abs': return `abs(${x})`;
    case 'square': return `(${x} * ${x})`;
    case 'recip': return `(1 / ${x})`;
    case 'scale': return `(${alphaOf(attrs, ctx)} * ${x})`;
    case 'addScalar': return `(${x} + ${alphaOf(attrs, ctx)})`;
    case 'powScalar': return `power(${x}, ${alphaOf(attrs, ctx)})`;
    default: throw new KernelError('unary', `no SQL lowering for function '${String(fn)}'`);
  }
}

/** df/dx as SQL. */
export function unaryDerivExpr(fn: UnaryFn, x: string, attrs: Readonly<Record<string, unknown>>, ctx: Ctx): string {
  switch (fn) {
    case 'identity': case 'addScalar': return '1';
    case 'stopGradient': return '0';
    case 'neg': return '(-1)';
    case 'relu': return `(CASE WHEN ${x} > 0 THEN 1 ELSE 0 END)`;
    case 'exp': return `exp(${x})`;
    case 'log': return `(1 / ${x})`;
    case 'tanh': return `(1 - tanh(${x}) * tanh(${x}))`;
    case 'sigmoid': return `(${sigmoid(x)} * (1 - ${sigmoid(x)}))`;
    case 'sqrt': return `(0.5 / sqrt(${x}))`;
    case 'abs': return `(CASE WHEN ${x} > 0 THEN 1 WHEN ${x} < 0 THEN -1 ELSE 0 END)`;
    case 'square': return `(2 * ${x})`;
    case 'recip': return `(-1 / (${x} * ${x}))`;
    case 'scale': return alphaOf(attrs, ctx);
    case 'powScalar': { const a = alphaOf(attrs, ctx); return `(${a} * power(${x}, ${a} - 1))`; }
    default: throw new KernelError('unaryGrad', `no SQL lowering for function '${String(fn)}'`);
  }
}

export function binaryExpr(fn: BinaryFn, a: string, b: string): string {
  switch (fn) {
    case 'add': return `(${a} + ${b})`;
    case 'sub': return `(${a} - ${b})`;
    case 'mul': return `(${a} * ${b})`;
    case 'div': return `(${a} / ${b})`;
    case 'max': return `(CASE WHEN ${a} >= ${b} THEN ${a} ELSE ${b} END)`;
    case 'min': return `(CASE WHEN ${a} <= ${b} THEN ${a} ELSE ${b} END)`;
    case 'pow': return `power(${a}, ${b})`;
    case 'eq': return `(CASE WHEN ${a} = ${b} THEN 1 ELSE 0 END)`;
    default: throw new KernelError('binary', `no SQL lowering for function '${String(fn)}'`);
  }
}

export function binaryPartialExpr(fn: BinaryFn, wrt: 0 | 1, a: string, b: string): string {
  switch (fn) {
    case 'add': return '1';
    case 'sub': return wrt === 0 ? '1' : '(-1)';
    case 'mul': return wrt === 0 ? b : a;
    case 'div': return wrt === 0 ? `(1 / ${b})` : `(-(${a}) / (${b} * ${b}))`;
    case 'max': return wrt === 0 ? `(CASE WHEN ${a} >= ${b} THEN 1 ELSE 0 END)` : `(CASE WHEN ${a} >= ${b} THEN 0 ELSE 1 END)`;
    case 'min': return wrt === 0 ? `(CASE WHEN ${a} <= ${b} THEN 1 ELSE 0 END)` : `(CASE WHEN ${a} <= ${b} THEN 0 ELSE 1 END)`;
    case 'pow': return wrt === 0 ? `(${b} * power(${a}, ${b} - 1))` : `(power(${a}, ${b}) * ln(${a}))`;
    case 'eq': return '0';
    default: throw new KernelError('binaryPartial', `no SQL lowering for function '${String(fn)}'`);
  }
}

/** Flat (row-major) offset of an element from its index columns, for tiles of `sizes`. */
function flatIndex(idx: readonly string[], sizes: readonly number[]): string {
  const st = stridesOf(sizes);
  return idx.length ? idx.map((c, d) => `${c} * ${sqlInt(st[d])}`).join(' + ') : '0';
}

/** Index columns of a flat offset in tiles of `sizes`. */
function unflatten(flat: string, sizes: readonly number[], d: Dialect): string[] {
  const st = stridesOf(sizes);
  return sizes.map((n, j) => `(${d.intDiv(flat, sqlInt(st[j]))}) % ${sqlInt(Math.max(n, 1))}`);
}

// ---- map kernels ----

/** SELECT computing map(x; call): key columns unchanged. */
export function lowerMap(call: KernelCall, x0: Src, ctx: Ctx): string {
  const x = asScalar(x0, ctx.dialect), a = call.attrs, keys = kcols('x', x.keys), idx = icols('x', x.sizes.length), from = `${x.from} AS x`;
  switch (call.name) {
    case 'unary':
      return `SELECT ${selectList(keys, idx, unaryExpr(a.fn as UnaryFn, 'x.v', a, ctx))} FROM ${from}`;
    case 'einsum': {
      const { inputs, output } = parseTileSpec(a.spec as string);
      if (inputs.length !== 1) throw new KernelError('einsum', `map takes a one-operand spec, got ${String(a.spec)}`);
      const A = inputs[0]!;
      const first = (c: string) => idx[A.indexOf(c)]!;
      const diag = [...A].flatMap((c, dIdx) => (A.indexOf(c) !== dIdx ? [`${idx[dIdx]} = ${first(c)}`] : []));
      const outIdx = [...output].map(first);
      const summed = [...new Set(A)].some((c) => !output.includes(c));
      const where = diag.length ? ` WHERE ${and(diag)}` : '';
      if (!summed) return `SELECT ${selectList(keys, outIdx, 'x.v')} FROM ${from}${where}`;
      return `SELECT ${selectList(keys, outIdx, 'SUM(x.v)')} FROM ${from}${where}${groupClause([...keys, ...outIdx])}`;
    }
    case 'reduce': {
      const axes = reduceAxes('reduce', a, x.sizes.length), fn = a.fn as string;
      const agg = fn === 'sum' ? 'SUM' : fn === 'max' ? 'MAX' : fn === 'min' ? 'MIN' : null;
      if (!agg) throw new KernelError('reduce', `no SQL lowering for fn '${fn}'`);
      const kept = idx.filter((_, d) => !axes.includes(d));
      return `SELECT ${selectList(keys, kept, `${agg}(x.v)`)} FROM ${from}${groupClause([...keys, ...kept])}`;
    }
    case 'softmax': {
      const axis = a.axis as number;
      const p = partition([...kcols('m', x.keys), ...icols('m', x.sizes.length).filter((_, d) => d !== axis)]);
      return `SELECT ${selectList(kcols('m', x.keys), icols('m', x.sizes.length), `exp(m.v - m.mx) / SUM(exp(m.v - m.mx)) OVER (${p})`)} ` +
        `FROM (SELECT x.*, MAX(x.v) OVER (${partition([...keys, ...idx.filter((_, d) => d !== axis)])}) AS mx FROM ${from}) AS m`;
    }
    case 'logsumexp': {
      const axis = a.axis as number;
      const kept = icols('m', x.sizes.length).filter((_, d) => d !== axis), mk = kcols('m', x.keys);
      return `SELECT ${selectList(mk, kept, 'm.mx + ln(SUM(exp(m.v - m.mx)))')} ` +
        `FROM (SELECT x.*, MAX(x.v) OVER (${partition([...keys, ...idx.filter((_, d) => d !== axis)])}) AS mx FROM ${from}) AS m` +
        ` GROUP BY ${[...mk, ...kept, 'm.mx'].join(', ')}`;
    }
    case 'reshape': {
      const shape = a.shape as number[];
      return `SELECT ${selectList(keys, unflatten(flatIndex(idx, x.sizes), shape, ctx.dialect), 'x.v')} FROM ${from}`;
    }
    case 'expandDims': {
      const out = [...idx];
      out.splice(a.axis as number, 0, '0');
      return `SELECT ${selectList(keys, out, 'x.v')} FROM ${from}`;
    }
    default:
      throw new KernelError(call.name, `no SQL lowering for map kernel '${call.name}'`, { backend: 'sql' });
  }
}

// ---- join kernels ----

/**
 * SELECT computing join(L, R; on, call): the output key is L's key then R's unjoined key columns; the
 * kernel decides which element indices must agree (ON), the output indices, and the value.
 */
export function lowerJoin(call: KernelCall, L0: Src, R0: Src, on: JoinOn, ctx: Ctx, sumGroupBy?: readonly number[]): string {
  const a = call.attrs;
  // Only the list product reads tile payloads directly; everything else joins scalar rows.
  const L = asScalar(L0, ctx.dialect), R = asScalar(R0, ctx.dialect);
  if (sumGroupBy && call.name !== 'einsum') throw new KernelError(call.name, 'only einsum joins fuse with a sum aggregation');
  const li = icols('l', L.sizes.length), ri = icols('r', R.sizes.length);
  const joined = new Set(on.map(([, r]) => r));
  const keys = [...kcols('l', L.keys), ...range(R.keys).filter((r) => !joined.has(r)).map((r) => `r.k${r}`)];
  const keyConds = on.map(([l, r]) => `l.k${sqlInt(l)} = r.k${sqlInt(r)}`);
  const from = (conds: readonly string[]) => `${L.from} AS l JOIN ${R.from} AS r ON ${and([...keyConds, ...conds])}`;
  const sameIdx = li.map((c, d) => `${c} = ${ri[d]}`);
  switch (call.name) {
    case 'einsum': {
      const { inputs, output } = parseTileSpec(a.spec as string);
      if (inputs.length !== 2) throw new KernelError('einsum', `join takes a two-operand spec, got ${String(a.spec)}`);
      const [A, B] = inputs as [string, string];
      const fa = (c: string) => li[A.indexOf(c)]!, fb = (c: string) => ri[B.indexOf(c)]!;
      const conds = [
        ...[...A].flatMap((c, d) => (A.indexOf(c) !== d ? [`${li[d]} = ${fa(c)}`] : [])),
        ...[...B].flatMap((c, d) => (B.indexOf(c) !== d ? [`${ri[d]} = ${fb(c)}`] : [])),
        ...[...new Set(A)].filter((c) => B.includes(c)).map((c) => `${fa(c)} = ${fb(c)}`),
      ];
      const outIdx = [...output].map((c) => (A.includes(c) ? fa(c) : fb(c)));
      if (sumGroupBy) {
        const kd = keyDot(A, B, output, L0, R0, on, sumGroupBy, ctx);
        if (kd) return kd;
        // join + sum aggregation fused: one GROUP BY over the kept keys sums over the contracted letters
        // and the dropped key dims at once, without materialising the per-key-pair products.
        const kept = sumGroupBy.map((p) => keys[p]!);
        return `SELECT ${selectList(kept, outIdx, 'SUM(l.v * r.v)')} FROM ${from(conds)}${groupClause([...kept, ...outIdx])}`;
      }
      // Letters summed over whose tiles have size 1 (e.g. A[i,j]·H[j,h] with A in one-element tiles) leave
      // one product per output element: no GROUP BY.
      const size = (c: string): number => (A.includes(c) ? L.sizes[A.indexOf(c)]! : R.sizes[B.indexOf(c)]!);
      const summed = [...new Set(A + B)].some((c) => !output.includes(c) && size(c) !== 1);
      const dot = listDot(A, B, output, L0, R0, keys, keyConds, ctx);
      if (dot) return dot;
      if (!summed) return `SELECT ${selectList(keys, outIdx, 'l.v * r.v')} FROM ${from(conds)}`;
      return `SELECT ${selectList(keys, outIdx, 'SUM(l.v * r.v)')} FROM ${from(conds)}${groupClause([...keys, ...outIdx])}`;
    }
    case 'binary':
    case 'binaryPartial': {
      const { a: am, b: bm, rank } = binaryAxes(call.name, a, [L.sizes, R.sizes]);
      const conds: string[] = [], outIdx: string[] = [];
      for (let d = 0; d < rank; d++) {
        const ia = am.indexOf(d), ib = bm.indexOf(d);
        if (ia >= 0 && ib >= 0) conds.push(`${li[ia]} = ${ri[ib]}`);
        outIdx.push(ia >= 0 ? li[ia]! : ri[ib]!);
      }
      const v = call.name === 'binary' ? binaryExpr(a.fn as BinaryFn, 'l.v', 'r.v') : binaryPartialExpr(a.fn as BinaryFn, a.wrt === 1 ? 1 : 0, 'l.v', 'r.v');
      return `SELECT ${selectList(keys, outIdx, v)} FROM ${from(conds)}`;
    }
    case 'second':
      return `SELECT ${selectList(keys, ri, 'r.v')} FROM ${from(sameIdx)}`;
    case 'unaryGrad':
      return `SELECT ${selectList(keys, li, `r.v * ${unaryDerivExpr(a.fn as UnaryFn, 'l.v', a, ctx)}`)} FROM ${from(sameIdx)}`;
    case 'einsumGrad': {
      // dx[x's layout] = g[output letters] on x's diagonal (where x repeats a letter), 0 off it.
      const { inputs, output } = parseTileSpec(a.spec as string);
      const A = inputs[0]!;
      const fa = (c: string) => li[A.indexOf(c)]!;
      const diag = [...A].flatMap((c, d) => (A.indexOf(c) !== d ? [`${li[d]} = ${fa(c)}`] : []));
      const conds = [...output].map((c, j) => `${ri[j]} = ${fa(c)}`);
      const v = diag.length ? `(CASE WHEN ${and(diag)} THEN r.v ELSE 0 END)` : 'r.v';
      return `SELECT ${selectList(keys, li, v)} FROM ${from(conds)}`;
    }
    case 'reshapeGrad':
      return `SELECT ${selectList(keys, li, 'r.v')} FROM ${from([`${flatIndex(li, L.sizes)} = ${flatIndex(ri, R.sizes)}`])}`;
    case 'reduceGrad': {
      const axes = reduceAxes('reduceGrad', a, L.sizes.length), fn = a.fn as string;
      const kept = li.filter((_, d) => !axes.includes(d));
      const conds = kept.map((c, j) => `${ri[j]} = ${c}`);
      if (fn === 'sum') return `SELECT ${selectList(keys, li, 'r.v')} FROM ${from(conds)}`;
      const agg = fn === 'max' ? 'MAX' : fn === 'min' ? 'MIN' : null;
      if (!agg) throw new KernelError('reduceGrad', `no SQL lowering for fn '${fn}'`);
      const pk = kcols('p', keys.length), pi = icols('p', li.length);
      const qPart = partition([...kcols('q', keys.length), ...icols('q', li.length).filter((_, d) => !axes.includes(d))]);
      return `SELECT ${selectList(pk, pi, 'CASE WHEN p.x = p.m THEN p.g ELSE 0 END')} FROM (SELECT q.*, ${agg}(q.x) OVER (${qPart}) AS m ` +
        `FROM (SELECT ${pairList(keys, li)}, l.v AS x, r.v AS g FROM ${from(conds)}) AS q) AS p`;
    }
    case 'softmaxGrad':
    case 'logsumexpGrad': {
      // y = softmax(x) along the axis; softmaxGrad: y * (g - sum(g * y)); logsumexpGrad: y * g[other indices].
      const axis = a.axis as number;
      const conds = call.name === 'softmaxGrad' ? sameIdx : li.filter((_, d) => d !== axis).map((c, j) => `${ri[j]} = ${c}`);
      const P = (al: string) => partition([...kcols(al, keys.length), ...icols(al, li.length).filter((_, d) => d !== axis)]);
      const pair = `SELECT ${pairList(keys, li)}, l.v AS x, r.v AS g FROM ${from(conds)}`;
      const withM = `SELECT q.*, MAX(q.x) OVER (${P('q')}) AS mx FROM (${pair}) AS q`;
      const withY = `SELECT s.*, exp(s.x - s.mx) / SUM(exp(s.x - s.mx)) OVER (${P('s')}) AS y FROM (${withM}) AS s`;
      const v = call.name === 'softmaxGrad' ? `t.y * (t.g - SUM(t.g * t.y) OVER (${P('t')}))` : 't.y * t.g';
      return `SELECT ${selectList(kcols('t', keys.length), icols('t', li.length), v)} FROM (${withY}) AS t`;
    }
    default:
      throw new KernelError(call.name, `no SQL lowering for join kernel '${call.name}'`, { backend: 'sql' });
  }
}

/** `e AS k0, …, e AS i0, …` without the value. */
function pairList(keys: readonly string[], idx: readonly string[]): string {
  return [...keys.map((e, j) => `${e} AS k${j}`), ...idx.map((e, j) => `${e} AS i${j}`)].join(', ');
}

/**
 * The dense tile product for DuckDB: each operand's rows become vectors over the contracted letters
 * (list(v ORDER BY contracted indices), grouped by key and the other indices), and each output element is
 * one list_dot_product of a row vector and a column vector: M*N dot products of length K instead of a
 * join producing M*K*N rows and a GROUP BY over them. Used when both specs are free of repeated and
 * privately-summed letters and the contracted size per tile pair is at least ctx.listDotMin.
 */
const denseSize = (S: Src): number => (S.bounds ?? []).reduce((p, n) => p * n, 1) * S.sizes.reduce((p, n) => p * n, 1);

/** The contracted letters when an einsum join A,B->O takes the list product (listDot), else null. */
function listDotLetters(A: string, B: string, O: string, L: Src, ctx: Ctx, R?: Src): string[] | null {
  if (ctx.listDotMin === undefined || !Number.isFinite(ctx.listDotMin) || ctx.dialect.name !== 'duckdb') return null;
  if (new Set(A).size !== A.length || new Set(B).size !== B.length) return null;
  const K = [...A].filter((c) => B.includes(c) && !O.includes(c));
  if (K.length === 0) return null;
  if ([...A].some((c) => !B.includes(c) && !O.includes(c)) || [...B].some((c) => !A.includes(c) && !O.includes(c))) return null;
  const kSize = K.reduce((p, c) => p * L.sizes[A.indexOf(c)]!, 1);
  if (kSize < ctx.listDotMin) return null;
  // An operand whose vectors would be gathered (not sliced from stored tiles) must fit ctx.gatherMax.
  const max = ctx.gatherMax ?? Infinity;
  const gathered = (S: Src, letters: string) => tileVectors(S, letters, K, 'x', ctx) === null && denseSize(S) > max;
  if (R && (gathered(L, A) || gathered(R, B))) return null;
  return K;
}

/** Whether an einsum join would read operand `side` (stored as tiles) as list slices (payload rule). */
export function readsTileSlices(call: KernelCall, L: Src, R: Src, side: 0 | 1, ctx: Ctx): boolean {
  if (call.name !== 'einsum') return false;
  const { inputs, output } = parseTileSpec(call.attrs.spec as string);
  if (inputs.length !== 2) return false;
  const [A, B] = inputs as [string, string];
  const K = listDotLetters(A, B, output, L, ctx, R);
  return K !== null && tileVectors(side === 0 ? L : R, side === 0 ? A : B, K, 'x', ctx) !== null;
}

function listDot(A: string, B: string, O: string, L: Src, R: Src, keys: readonly string[], keyConds: readonly string[], ctx: Ctx): string | null {
  const K = listDotLetters(A, B, O, L, ctx, R);
  if (!K) return null;
  const side = (S0: Src, letters: string, alias: string) => {
    const sliced = tileVectors(S0, letters, K, alias, ctx);
    if (sliced) return sliced;
    const S = asScalar(S0, ctx.dialect);
    const rest = [...letters].map((c, d) => ({ c, d })).filter(({ c }) => !K.includes(c));
    const group = [...kcols('x', S.keys), ...rest.map(({ d }) => `x.i${d}`)];
    const sel = [...kcols('x', S.keys).map((e, j) => `${e} AS k${j}`), ...rest.map(({ d }) => `x.i${d} AS ${alias}_${d}`)];
    const order = K.map((c) => `x.i${letters.indexOf(c)}`).join(', ');
    return `(SELECT ${sel.join(', ')}, list(x.v ORDER BY ${order}) AS vec FROM ${S.from} AS x${group.length ? ` GROUP BY ${group.join(', ')}` : ''})`;
  };
  const batch = [...A].filter((c) => B.includes(c) && O.includes(c)).map((c) => `l.l_${A.indexOf(c)} = r.r_${B.indexOf(c)}`);
  const outIdx = [...O].map((c) => (A.includes(c) ? `l.l_${A.indexOf(c)}` : `r.r_${B.indexOf(c)}`));
  const conds = [...keyConds, ...batch];
  return `SELECT ${selectList(keys, outIdx, 'list_dot_product(l.vec, r.vec)')} FROM ${side(L, A, 'l')} AS l JOIN ${side(R, B, 'r')} AS r ON ${conds.length ? conds.join(' AND ') : 'TRUE'}`;
}

/**
 * listDot's vectors read straight out of stored tiles (DuckDB): for each tile and each combination of the
 * free element indices, the contracted elements lie at base + m·stride (one contracted letter, or several
 * consecutive dims in the order of K), so a vector is one list_slice with a step: no unnest, no gather, no
 * list() aggregate state (those cannot spill). Null when the tile layout does not allow it (ragged tiles,
 * contracted dims not consecutive): the caller then gathers from scalar rows.
 */
function tileVectors(S: Src, letters: string, K: readonly string[], alias: string, ctx: Ctx): string | null {
  if (!S.tile || ctx.dialect.name !== 'duckdb' || !S.schema) return null;
  const ks = K.map((c) => letters.indexOf(c));
  if (ks.some((d, j) => j > 0 && d !== ks[j - 1]! + 1)) return null;
  // Ragged tiles (the last row block) keep constant strides only when dim 0 alone is ragged: its short
  // tiles just have fewer rows — skipped by a WHERE on the generated row index, or, when dim 0 is the one
  // contracted dim, a shorter slice (the other operand's tile at the same key is as short).
  const td = S.schema.tile, ragged = (d: number) => td[d]!.key !== null && td[d]!.extent % td[d]!.size !== 0;
  if (td.some((_, d) => ragged(d) && d !== 0) || (ragged(0) && ks.includes(0) && ks.length > 1)) return null;
  const rows = `(${sqlInt(td[0]?.extent)} - x.k${sqlInt(td[0]?.key ?? 0)} * ${sqlInt(td[0]?.size)})`;
  const short = ragged(0) && !ks.includes(0) ? ` WHERE e0.r < ${rows}` : '';
  const st = stridesOf(S.sizes), step = st[ks[ks.length - 1]!]!;
  const n = ks.reduce((p, d) => p * S.sizes[d]!, 1);
  const rest = range(letters.length).filter((d) => !ks.includes(d));
  const base = rest.length ? rest.map((d) => `e${d}.r * ${sqlInt(st[d])}`).join(' + ') : '0';
  const last = ragged(0) && ks.includes(0) ? `(LEAST(${sqlInt(n)}, ${rows}) - 1) * ${sqlInt(step)} + 1` : sqlInt((n - 1) * step + 1);
  const slice = step === 1 ? `list_slice(x.t, ${base} + 1, ${base} + ${last})` : `list_slice(x.t, ${base} + 1, ${base} + ${last}, ${sqlInt(step)})`;
  const sel = [...kcols('x', S.keys).map((e, j) => `${e} AS k${j}`), ...rest.map((d) => `e${d}.r AS ${alias}_${d}`), `${slice} AS vec`];
  const grids = rest.map((d) => ` CROSS JOIN range(0, ${sqlInt(S.sizes[d])}) AS e${d}(r)`).join('');
  return `(SELECT ${sel.join(', ')} FROM ${S.from} AS x${grids}${short})`;
}

/**
 * Whether aggregate(sum)(join(einsum)) should run as one fused GROUP BY: yes for two-operand einsum
 * joins, unless the join itself would take the list_dot_product path (dense tiles: keep the vector
 * products and aggregate their results).
 */
export function fusesWithSum(call: KernelCall, L: Src, ctx: Ctx, R?: Src, on?: JoinOn, groupBy?: readonly number[]): boolean {
  if (call.name !== 'einsum') return false;
  const { inputs, output } = parseTileSpec(call.attrs.spec as string);
  if (inputs.length !== 2) return false;
  const [A, B] = inputs as [string, string];
  if (R && on && groupBy && keyDot(A, B, output, L, R, on, groupBy, ctx) !== null) return true;
  if (ctx.listDotMin === undefined || !Number.isFinite(ctx.listDotMin) || ctx.dialect.name !== 'duckdb') return true;
  const K = [...new Set(A)].filter((c) => B.includes(c) && !output.includes(c));
  const kSize = K.reduce((p, c) => p * L.sizes[A.indexOf(c)]!, 1);
  if (K.length === 0 || kSize < ctx.listDotMin) return true;
  // The join would take listDot unless an operand is too large to gather (ctx.gatherMax): then fuse.
  return R !== undefined && ctx.gatherMax !== undefined && listDotLetters(A, B, output, L, ctx, R) === null;
}

/**
 * The key-contraction product for DuckDB: sum_{j} join(L, R; einsum) where the summed key dimensions j are
 * joined key dimensions (the weight gradients of a layer, Xᵀ·G, with X and G in row tiles: a sum over every
 * node of per-node outer products). Instead of a join producing (nodes × free elements) rows and a GROUP BY
 * over them, each operand becomes one dense vector per (kept key, free element index), indexed by
 * (summed keys, contracted letters) and zero-filled where a key or element is absent (a LEFT JOIN against
 * the generated positions), and each output element is one list_dot_product of two such vectors.
 * Applies when: DuckDB and a finite listDotMin; no repeated letters and no letters summed inside one
 * operand only; every key dimension not joined is kept; at least one joined key dimension of bound > 1 is summed; both
 * operands' tiles hold at least keyDotMinTile elements (default DEFAULT_KEY_DOT_MIN_TILE: relations of
 * one-element tiles, edge lists and the like, are sparse, and a dense vector over their keys would be
 * mostly zeros); the vector length (summed key bounds × contracted size) is at least listDotMin.
 */
export const DEFAULT_KEY_DOT_MIN_TILE = 8;
/**
 * keyDot materialises each operand densely (zero-filled), so it is used only when an operand's dense
 * extent (key bounds × tile elements) is at most this many elements (2^28, 2 GiB of float64): a large
 * sparse relation with big tiles keeps the join + GROUP BY.
 */
export const KEY_DOT_MAX_DENSE = 2 ** 28;
/** keyDot's vectors are cut into chunks of this many positions (see keyDot). */
export const KEY_DOT_CHUNK = 16384;

export function keyDot(A: string, B: string, O: string, L: Src, R: Src, on: JoinOn, groupBy: readonly number[], ctx: Ctx): string | null {
  if (ctx.listDotMin === undefined || !Number.isFinite(ctx.listDotMin) || ctx.dialect.name !== 'duckdb') return null;
  const minTile = ctx.keyDotMinTile ?? DEFAULT_KEY_DOT_MIN_TILE;
  if (!Number.isFinite(minTile) || !L.bounds || !R.bounds) return null;
  // Stored tiles: per-tile list products read slices of them (tileVectors) and a plain GROUP BY sums the
  // small per-tile results; keyDot would unnest and re-gather whole operands into list() states.
  if (L.tile || R.tile) return null;
  const elems = (S: Src) => S.sizes.reduce((p, n) => p * n, 1);
  if (elems(L) < minTile || elems(R) < minTile) return null;
  // The zero-filled vectors hold (at most) every element of the operand's dense extent: bound it.
  const dense = (S: Src) => S.bounds!.reduce((p, n) => p * n, 1) * elems(S);
  if (dense(L) > KEY_DOT_MAX_DENSE || dense(R) > KEY_DOT_MAX_DENSE) return null;
  if (dense(L) > (ctx.gatherMax ?? Infinity) || dense(R) > (ctx.gatherMax ?? Infinity)) return null;
  if (new Set(A).size !== A.length || new Set(B).size !== B.length) return null;
  if ([...A].some((c) => !B.includes(c) && !O.includes(c)) || [...B].some((c) => !A.includes(c) && !O.includes(c))) return null;
  const K = [...A].filter((c) => B.includes(c) && !O.includes(c));
  const joinedR = new Set(on.map(([, r]) => r));
  const rFree = range(R.keys).filter((r) => !joinedR.has(r));
  // Output key position of each L key is its index; of R's unjoined key r, L.keys + its rank in rFree.
  const kept = new Set(groupBy);
  const J = on.filter(([l]) => !kept.has(l));
  if (J.length === 0) return null;
  if (range(L.keys).some((l) => !kept.has(l) && !on.some(([x]) => x === l))) return null;
  if (rFree.some((r, j) => !kept.has(L.keys + j))) return null;
  const jBounds = J.map(([l]) => L.bounds![l]!);
  if (jBounds.every((b) => b === 1)) return null; // summing bound-1 keys is no contraction: listDot's business
  const kSizes = K.map((c) => L.sizes[A.indexOf(c)]!);
  const total = [...jBounds, ...kSizes].reduce((p, n) => p * n, 1);
  if (total < ctx.listDotMin || total > 2 ** 31 - 1) return null;
  const dims = [...jBounds, ...kSizes], st = stridesOf(dims);
  const side = (S: Src, letters: string, alias: string, summedKeys: readonly number[], keptKeys: readonly number[]): string => {
    const free = [...letters].map((c, d) => ({ c, d })).filter(({ c }) => !K.includes(c));
    const pos = [...summedKeys.map((k) => `x.k${sqlInt(k)}`), ...K.map((c) => `x.i${letters.indexOf(c)}`)]
      .map((e, d) => `${e} * ${sqlInt(st[d])}`).join(' + ');
    const g = [...keptKeys.map((k) => ({ e: `x.k${sqlInt(k)}`, n: `${alias}k${k}` })), ...free.map(({ d }) => ({ e: `x.i${d}`, n: `${alias}_${d}` }))];
    const gsel = [...g.map(({ e, n }) => `${e} AS ${n}`), '0 AS g_', `${pos} AS p_`, 'x.v AS v'].join(', ');
    const gn = [...g.map(({ n }) => n), 'g_'];
    const d = `(SELECT ${gsel} FROM ${S.from} AS x)`;
    const on2 = [...gn.map((n) => `d.${n} = g.${n}`), 'd.p_ = s.p_'].join(' AND ');
    const cg = chunks > 1 ? [`${ctx.dialect.intDiv('s.p_', sqlInt(KEY_DOT_CHUNK))}`] : [];
    return `(WITH d AS ${d} SELECT ${gn.map((n) => `g.${n}`).join(', ')}, ${chunks > 1 ? `${cg[0]} AS c_, ` : ''}list(coalesce(d.v, 0) ORDER BY s.p_) AS vec ` +
      `FROM (SELECT DISTINCT ${gn.join(', ')} FROM d) AS g CROSS JOIN range(0, ${sqlInt(total)}) AS s(p_) LEFT JOIN d ON ${on2} GROUP BY ${[...gn.map((n) => `g.${n}`), ...cg].join(', ')})`;
  };
  // Long vectors are cut into chunks of KEY_DOT_CHUNK positions (one list per group and chunk, dot products
  // summed): DuckDB's list() aggregate states cannot spill, and one list per group over all positions ran
  // out of memory at full size (169,343 nodes) under a memory_limit.
  const chunks = Math.ceil(total / KEY_DOT_CHUNK);
  const lSummed = J.map(([l]) => l), rSummed = J.map(([, r]) => r);
  const lKept = range(L.keys).filter((l) => !lSummed.includes(l));
  const rKept = range(R.keys).filter((r) => !rSummed.includes(r));
  const conds = [
    ...on.filter(([l]) => kept.has(l)).map(([l, r]) => `l.lk${sqlInt(l)} = r.rk${sqlInt(r)}`),
    ...[...A].filter((c) => B.includes(c) && O.includes(c)).map((c) => `l.l_${A.indexOf(c)} = r.r_${B.indexOf(c)}`),
  ];
  const keyExpr = (p: number): string => (p < L.keys ? `l.lk${sqlInt(p)}` : `r.rk${sqlInt(rFree[p - L.keys]!)}`);
  const outIdx = [...O].map((c) => (A.includes(c) ? `l.l_${A.indexOf(c)}` : `r.r_${B.indexOf(c)}`));
  const from = `FROM ${side(L, A, 'l', lSummed, lKept)} AS l JOIN ${side(R, B, 'r', rSummed, rKept)} AS r ON `;
  if (chunks === 1) return `SELECT ${selectList(groupBy.map(keyExpr), outIdx, 'list_dot_product(l.vec, r.vec)')} ${from}${conds.length ? conds.join(' AND ') : 'TRUE'}`;
  const group = [...groupBy.map(keyExpr), ...outIdx];
  return `SELECT ${selectList(groupBy.map(keyExpr), outIdx, 'SUM(list_dot_product(l.vec, r.vec))')} ${from}${[...conds, 'l.c_ = r.c_'].join(' AND ')}${groupClause(group)}`;
}
