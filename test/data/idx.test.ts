import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodeIdx, FASHION_MNIST_DEFAULT_DIR, IDX_IMAGES, IDX_LABELS, loadFashionMnist, readIdx } from '../../src/data/idx.js';
import { FormatError } from '../../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'relml-idx-'));

/** Build IDX bytes by hand: magic 00 00 08 ndim, big-endian u32 dims, then the bytes. */
function idx(shape: number[], data: ArrayLike<number>): Buffer {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.writeUInt32BE(0x0800 | shape.length, 0);
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(Array.from(data))]);
}

const formatErr = (file: string, re: RegExp) => (e: unknown) =>
  e instanceof FormatError && e.message.startsWith(file) && re.test(e.message);

test('reads plain and gzipped IDX files with big-endian dims', () => {
  const d = fresh();
  const pixels = Array.from({ length: 2 * 3 * 4 }, (_, i) => (i * 11) % 256);
  writeFileSync(join(d, 'img'), idx([2, 3, 4], pixels));
  // Gzip is detected by content: the name says nothing.
  writeFileSync(join(d, 'img.bin'), gzipSync(idx([2, 3, 4], pixels)));
  writeFileSync(join(d, 'lbl.gz'), gzipSync(idx([300], Array.from({ length: 300 }, (_, i) => i % 10))));
  for (const f of ['img', 'img.bin']) {
    const a = readIdx(join(d, f), IDX_IMAGES);
    assert.deepEqual(a.shape, [2, 3, 4]);
    assert.deepEqual(Array.from(a.data), pixels);
  }
  const l = readIdx(join(d, 'lbl.gz'), IDX_LABELS);
  assert.deepEqual(l.shape, [300]); // 300 > 255 checks all four dim bytes are read
  assert.equal(l.data[299], 9);
});

test('truncated, corrupted and mismatched files give FormatError with expected vs found', () => {
  const d = fresh();
  const good = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const cases: Array<[string, Uint8Array, RegExp, number?]> = [
    ['tiny', good.subarray(0, 3), /truncated: 3 bytes, expected at least the 4-byte IDX magic/],
    ['header', good.subarray(0, 10), /truncated: 10 bytes, expected a 16-byte header for 3 dimensions/],
    ['short', good.subarray(0, good.length - 1), /truncated: shape \[2,2,2\] needs 8 data bytes, found 7/],
    ['long', Buffer.concat([good, Buffer.from([0])]), /size mismatch: shape \[2,2,2\] needs 8 data bytes, found 9/],
    ['magic', Buffer.concat([Buffer.from([1, 0]), good.subarray(2)]), /wrong magic 0x01000803/],
    ['type', Buffer.concat([Buffer.from([0, 0, 0x0d]), good.subarray(3)]), /element type 0xd unsupported/],
    ['gzcut', gzipSync(good).subarray(0, 20), /corrupt or truncated gzip/],
    ['labels-as-images', idx([4], [1, 2, 3, 4]), /wrong magic 0x00000801, expected 0x00000803/, IDX_IMAGES],
  ];
  for (const [name, bytes, re, magic] of cases) {
    const p = join(d, name);
    writeFileSync(p, bytes);
    assert.throws(() => readIdx(p, magic), formatErr(p, re), name);
  }
  assert.throws(() => decodeIdx(new Uint8Array(0), 'mem'), formatErr('mem', /truncated/));
});

test('missing Fashion-MNIST files name the apt package and the env var', () => {
  const d = fresh();
  assert.throws(() => loadFashionMnist(d), (e: unknown) =>
    e instanceof FormatError && e.message.includes('apt-get install dataset-fashion-mnist') && e.message.includes('RELML_FASHION_MNIST_DIR')
    && e.message.includes('train-images-idx3-ubyte'));
});

test('loadFashionMnist on a small fake folder: scaling, label checks, env var', () => {
  const d = fresh();
  const n = 3;
  const pix = Array.from({ length: n * 784 }, (_, i) => i % 256);
  writeFileSync(join(d, 'train-images-idx3-ubyte.gz'), gzipSync(idx([n, 28, 28], pix)));
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([n], [0, 9, 4])); // unpacked files are found too
  writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([1, 28, 28], pix.slice(0, 784))));
  writeFileSync(join(d, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx([1], [5])));
  const prev = process.env['RELML_FASHION_MNIST_DIR'];
  process.env['RELML_FASHION_MNIST_DIR'] = d;
  try {
    const m = loadFashionMnist();
    assert.equal(m.train.n, 3);
    assert.deepEqual(Array.from(m.train.labels), [0, 9, 4]);
    assert.equal(m.train.images.length, 3 * 784);
    assert.equal(m.train.images[255], 1);
    assert.equal(m.train.images[51], Math.fround(51 / 255));
    assert.deepEqual(Array.from(m.test.labels), [5]);
  } finally {
    if (prev === undefined) delete process.env['RELML_FASHION_MNIST_DIR']; else process.env['RELML_FASHION_MNIST_DIR'] = prev;
  }
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([n], [0, 10, 4]));
  assert.throws(() => loadFashionMnist(d), /label 10 at row 1 outside 0\.\.9/);
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([2], [0, 1]));
  assert.throws(() => loadFashionMnist(d), /expected 3 labels .* found 2/);
});

test('real Fashion-MNIST (when installed): 60000/10000 images, labels 0..9, pixels in [0,1]', (t) => {
  const dir = process.env['RELML_FASHION_MNIST_DIR'] || FASHION_MNIST_DEFAULT_DIR;
  if (!existsSync(join(dir, 'train-images-idx3-ubyte.gz')) && !existsSync(join(dir, 'train-images-idx3-ubyte'))) {
    return t.skip(`Fashion-MNIST not found in ${dir} (apt-get install dataset-fashion-mnist)`);
  }
  const m = loadFashionMnist(dir);
  assert.equal(m.train.n, 60000);
  assert.equal(m.test.n, 10000);
  assert.equal(m.train.images.length, 60000 * 784);
  assert.equal(m.test.images.length, 10000 * 784);
  // Fashion-MNIST is balanced: exactly 6000 train and 1000 test images per class.
  for (const [split, per] of [[m.train, 6000], [m.test, 1000]] as const) {
    const counts = new Array(10).fill(0);
    for (const y of split.labels) counts[y]++;
    assert.deepEqual(counts, new Array(10).fill(per));
  }
  let min = Infinity, max = -Infinity;
  for (const v of m.test.images) { if (v < min) min = v; if (v > max) max = v; }
  assert.equal(min, 0);
  assert.equal(max, 1);
  // First labels of each split, from the upstream files (train starts 9 0 0 3, test starts 9 2 1 1).
  assert.deepEqual(Array.from(m.train.labels.subarray(0, 4)), [9, 0, 0, 3]);
  assert.deepEqual(Array.from(m.test.labels.subarray(0, 4)), [9, 2, 1, 1]);
});
