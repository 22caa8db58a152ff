/** Odometer iteration over a shape: the one loop every generic reference kernel is built on. */
export function forEachIndex(shape: readonly number[], fn: (idx: readonly number[]) => void): void {
  const r = shape.length;
  if (shape.some((d) => d === 0)) return;
  const idx = new Array<number>(r).fill(0);
  for (;;) {
    fn(idx);
    let d = r - 1;
    for (; d >= 0; d--) { if (++idx[d]! < shape[d]!) break; idx[d] = 0; }
    if (d < 0) return;
  }
}

/** Strides of `shape` placed into a bigger index space: axis i of the tile is axis map[i] of the space. */
export function mappedStrides(shape: readonly number[], map: readonly number[], spaceRank: number): number[] {
  const out = new Array<number>(spaceRank).fill(0);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { out[map[i]!]! += acc; acc *= shape[i]!; }
  return out;
}

export function dot(idx: readonly number[], strides: readonly number[]): number {
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i]! * strides[i]!;
  return o;
}
