/**
 * A small made-up Fashion-MNIST: IDX files (gzipped, as Debian ships them) holding 28x28 images whose
 * class is learnable (each class lights a different horizontal band, plus seeded noise).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mulberry32 } from '../../src/data/loader.js';

export function idxBytes(shape: number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = 0x08; header[3] = shape.length;
  shape.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

export function syntheticImages(n: number, seed: number): { images: Uint8Array; labels: Uint8Array } {
  const rnd = mulberry32(seed), images = new Uint8Array(n * 784), labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = i % 10;
    labels[i] = y;
    for (let p = 0; p < 784; p++) {
      const row = Math.floor(p / 28);
      const on = row >= 2 + 2 * y && row < 5 + 2 * y;
      images[i * 784 + p] = Math.min(255, Math.floor((on ? 160 : 0) + rnd() * 80));
    }
  }
  return { images, labels };
}

/** Writes train (nTrain) and t10k (nTest) files into `dir`; returns dir. */
export function writeSyntheticFashion(dir: string, nTrain = 200, nTest = 50, seed = 7): string {
  mkdirSync(dir, { recursive: true });
  for (const [prefix, n, s] of [['train', nTrain, seed], ['t10k', nTest, seed + 1]] as const) {
    const { images, labels } = syntheticImages(n, s);
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte.gz`), gzipSync(idxBytes([n, 28, 28], images)));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(idxBytes([n], labels)));
  }
  return dir;
}
