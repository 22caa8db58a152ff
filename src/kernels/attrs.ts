/** Attribute readers: each names the kernel and the attribute when the value is not what it must be. */
import { KernelError } from '../errors.js';

type Attrs = Readonly<Record<string, unknown>>;

export function strAttr(kernel: string, attrs: Attrs, key: string): string {
  const v = attrs[key];
  if (typeof v !== 'string') throw new KernelError(kernel, `attribute '${key}' must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function oneOf<T extends string>(kernel: string, attrs: Attrs, key: string, allowed: readonly T[]): T {
  const v = strAttr(kernel, attrs, key);
  if (!(allowed as readonly string[]).includes(v)) throw new KernelError(kernel, `attribute '${key}' is '${v}', expected one of ${allowed.join(', ')}`);
  return v as T;
}

export function numAttr(kernel: string, attrs: Attrs, key: string, fallback?: number): number {
  const v = attrs[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new KernelError(kernel, `attribute '${key}' must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

export function intAttr(kernel: string, attrs: Attrs, key: string, fallback?: number): number {
  const v = numAttr(kernel, attrs, key, fallback);
  if (!Number.isInteger(v)) throw new KernelError(kernel, `attribute '${key}' must be an integer, got ${v}`);
  return v;
}

export function intsAttr(kernel: string, attrs: Attrs, key: string): number[] {
  const v = attrs[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) throw new KernelError(kernel, `attribute '${key}' must be an array of integers, got ${JSON.stringify(v)}`);
  return v as number[];
}

/** An axis in [0, rank). */
export function axisAttr(kernel: string, attrs: Attrs, key: string, rank: number): number {
  const a = intAttr(kernel, attrs, key);
  if (a < 0 || a >= rank) throw new KernelError(kernel, `attribute '${key}' = ${a} is outside [0, ${rank})`);
  return a;
}
