/**
 * IDX files, the format MNIST and Fashion-MNIST ship in: bytes 0-1 zero, byte 2 the element type (0x08 =
 * unsigned byte, the only one those data sets use), byte 3 the number of dimensions, then each dimension as a
 * big-endian u32, then the elements. Files may be gzipped; we detect that by the gzip magic 1f 8b, not the name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FormatError } from '../errors.js';

export interface IdxArray { shape: number[]; data: Uint8Array }

const U8 = 0x08;

/** Decode IDX bytes (plain or gzipped). `file` names the source in errors. */
export function decodeIdx(raw: Uint8Array, file = '<memory>'): IdxArray {
  let bytes = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = gunzipSync(raw);
    } catch (err) {
      throw new FormatError(file, `corrupt or truncated gzip data (${(err as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new FormatError(file, `truncated: ${bytes.length} bytes, expected at least the 4-byte IDX magic`);
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const hex = '0x' + magic.toString(16).padStart(8, '0');
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new FormatError(file, `wrong magic ${hex}: expected 0x000008NN (an IDX file)`, { magic });
  if (bytes[2] !== U8) throw new FormatError(file, `wrong magic ${hex}: element type 0x${bytes[2]!.toString(16)} unsupported, expected 0x08 (unsigned byte)`, { magic });
  const ndim = bytes[3]!;
  if (ndim === 0) throw new FormatError(file, `wrong magic ${hex}: zero dimensions`, { magic });
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) throw new FormatError(file, `truncated: ${bytes.length} bytes, expected a ${headerLen}-byte header for ${ndim} dimensions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < ndim; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerLen;
  if (found !== size) {
    throw new FormatError(file, `${found < size ? 'truncated' : 'size mismatch'}: shape [${shape}] needs ${size} data bytes, found ${found}`, { expected: size, found });
  }
  return { shape, data: bytes.slice(headerLen) };
}

/** Read an IDX file, optionally checking its magic (0x00000803 for images, 0x00000801 for labels). */
export function readIdx(path: string, expectMagic?: number): IdxArray {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (err) {
    throw new FormatError(path, `cannot read file (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const arr = decodeIdx(raw, path);
  if (expectMagic !== undefined) {
    const magic = (U8 << 8) | arr.shape.length;
    if (magic !== expectMagic) {
      throw new FormatError(path, `wrong magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${expectMagic.toString(16).padStart(8, '0')}`, { magic });
    }
  }
  return arr;
}

export const IDX_IMAGES = 0x00000803;
export const IDX_LABELS = 0x00000801;

export interface MnistSplit { images: Float32Array; labels: Int32Array; n: number }
export interface MnistData { train: MnistSplit; test: MnistSplit }

/** Class names, in label order, from the Fashion-MNIST README. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** The upstream file name, gzipped (as Debian ships it) or already unpacked. */
function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new FormatError(join(dir, `${stem}.gz`),
    `Fashion-MNIST file missing; run \`apt-get install dataset-fashion-mnist\` (installs to ${FASHION_MNIST_DEFAULT_DIR}) or set RELML_FASHION_MNIST_DIR to a folder holding ${stem}[.gz]`);
}

function loadSplit(dir: string, prefix: 'train' | 't10k'): MnistSplit {
  const imgPath = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblPath = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readIdx(imgPath, IDX_IMAGES);
  const lbl = readIdx(lblPath, IDX_LABELS);
  const [n, rows, cols] = img.shape as [number, number, number];
  if (rows !== 28 || cols !== 28) throw new FormatError(imgPath, `expected 28x28 images, found ${rows}x${cols}`);
  if (lbl.shape[0] !== n) throw new FormatError(lblPath, `expected ${n} labels (one per image in ${imgPath}), found ${lbl.shape[0]}`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = lbl.data[i]!;
    if (y > 9) throw new FormatError(lblPath, `label ${y} at row ${i} outside 0..9`, { row: i });
    labels[i] = y;
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i]! / 255; // pixels to [0, 1]
  return { images, labels, n };
}

/**
 * Load Fashion-MNIST (60000 train / 10000 test 28x28 images, 10 classes). Folder: `dir`, else the env var
 * RELML_FASHION_MNIST_DIR, else Debian's install location. Images are row-major n*784, scaled to [0, 1].
 */
export function loadFashionMnist(dir?: string): MnistData {
  // An empty variable counts as unset.
  const d = dir ?? (process.env['RELML_FASHION_MNIST_DIR'] || FASHION_MNIST_DEFAULT_DIR);
  return { train: loadSplit(d, 'train'), test: loadSplit(d, 't10k') };
}
