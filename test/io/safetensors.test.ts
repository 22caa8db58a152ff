import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, type SafeTensor } from '../../src/io/safetensors.js';
import { FormatError } from '../../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'relml-st-'));
const hasPython = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
const python = (code: string, ...args: string[]) => spawnSync('python3', ['-c', code, ...args], { encoding: 'utf8' });

const sample = (): Record<string, SafeTensor> => ({
  w: { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0.5, -1.25, 3, 1e-7, 65504, -0]) },
  b: { dtype: 'float64', shape: [3], data: Float64Array.from([Math.PI, -Math.E, 1e300]) },
  step: { dtype: 'int64', shape: [], data: BigInt64Array.from([-(2n ** 40n) - 7n]) },
  idx: { dtype: 'int32', shape: [2, 2], data: Int32Array.from([-2147483648, 2147483647, 0, 7]) },
  empty: { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
});

/** Mutate a valid file's header JSON and re-encode it with a correct length prefix. */
function withHeader(bytes: Uint8Array, edit: (h: any) => void, extraBytes = 0): Uint8Array {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const h = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  edit(h);
  const json = Buffer.from(JSON.stringify(h));
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - n + extraBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + n), 8 + json.length);
  return out;
}

test('round trip keeps dtypes, shapes, values and metadata; header is 8-byte padded', () => {
  const p = join(fresh(), 'm.safetensors');
  saveSafetensors(p, sample(), { format: 'pt', epoch: '3' });
  const bytes = readFileSync(p);
  assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0);
  const { tensors, metadata } = loadSafetensors(p);
  assert.deepEqual(metadata, { format: 'pt', epoch: '3' });
  assert.deepEqual(Object.keys(tensors).sort(), ['b', 'empty', 'idx', 'step', 'w']);
  for (const [k, t] of Object.entries(sample())) {
    assert.equal(tensors[k]!.dtype, t.dtype, k);
    assert.deepEqual(tensors[k]!.shape, t.shape, k);
    assert.deepEqual(tensors[k]!.data, t.data, k);
  }
  assert.ok(Object.is(tensors['w']!.data[5], -0), 'bit-exact, including negative zero');
});

test('reads a file written by an independent Python writer (struct + json + numpy)', (t) => {
  if (!hasPython) return t.skip('python3 with numpy not available');
  const p = join(fresh(), 'py.safetensors');
  // Header keys deliberately out of buffer order, no padding, odd offsets: the reader must not assume ours.
  const r = python(`
import json, struct, sys, numpy as np
a = np.arange(6, dtype='<f4').reshape(2, 3) / 4
b = np.array([1e-300, -2.5], dtype='<f8')
c = np.array([[2**62, -3], [0, 1]], dtype='<i8')
d = np.array([-7, 9, 11], dtype='<i4')
bufs = [('c', 'I64', c), ('a', 'F32', a), ('d', 'I32', d), ('b', 'F64', b)]
header, off, blob = {}, 0, b''
for name, tag, arr in bufs:
    raw = arr.tobytes()
    header[name] = {'dtype': tag, 'shape': list(arr.shape), 'data_offsets': [off, off + len(raw)]}
    off += len(raw); blob += raw
header = dict(sorted(header.items()))
header['__metadata__'] = {'writer': 'python'}
h = json.dumps(header).encode()
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + blob)
`, p);
  assert.equal(r.status, 0, r.stderr);
  const { tensors, metadata } = loadSafetensors(p);
  assert.deepEqual(metadata, { writer: 'python' });
  assert.deepEqual(tensors['a'], { dtype: 'float32', shape: [2, 3], data: Float32Array.from([0, 0.25, 0.5, 0.75, 1, 1.25]) });
  assert.deepEqual(tensors['b'], { dtype: 'float64', shape: [2], data: Float64Array.from([1e-300, -2.5]) });
  assert.deepEqual(tensors['c'], { dtype: 'int64', shape: [2, 2], data: BigInt64Array.from([2n ** 62n, -3n, 0n, 1n]) });
  assert.deepEqual(tensors['d'], { dtype: 'int32', shape: [3], data: Int32Array.from([-7, 9, 11]) });
});

test('a file written here is read back correctly by an independent Python reader', (t) => {
  if (!hasPython) return t.skip('python3 with numpy not available');
  const p = join(fresh(), 'ts.safetensors');
  saveSafetensors(p, sample(), { note: 'from ts' });
  const r = python(`
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
n, = struct.unpack('<Q', raw[:8])
assert n % 8 == 0, n
h = json.loads(raw[8:8 + n]); buf = raw[8 + n:]
assert h.pop('__metadata__') == {'note': 'from ts'}
dt = {'F32': '<f4', 'F64': '<f8', 'I64': '<i8', 'I32': '<i4'}
t = {k: np.frombuffer(buf[v['data_offsets'][0]:v['data_offsets'][1]], dtype=dt[v['dtype']]).reshape(v['shape']) for k, v in h.items()}
assert t['w'].dtype == np.float32 and t['w'].shape == (2, 3)
assert np.array_equal(t['w'], np.array([[0.5, -1.25, 3], [1e-7, 65504, 0]], dtype=np.float32))
assert np.signbit(t['w'][1, 2])
assert np.array_equal(t['b'], [np.pi, -np.e, 1e300])
assert t['step'].shape == () and int(t['step']) == -(2**40) - 7
assert np.array_equal(t['idx'], [[-2**31, 2**31 - 1], [0, 7]])
assert t['empty'].shape == (0, 4)
assert sum(e - b for b, e in (v['data_offsets'] for v in h.values())) == len(buf)
print('ok')
`, p);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'ok');
});

test('truncated and corrupted files give FormatError naming the file (and tensor)', () => {
  const d = fresh();
  const good = encodeSafetensors(sample());
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['short', good.subarray(0, 5), /shorter than the 8-byte/],
    ['truncated', good.subarray(0, good.length - 3), /tensor 'idx': data_offsets \[\d+, \d+\] out of range/],
    ['hugeheader', (() => { const b = good.slice(); new DataView(b.buffer).setBigUint64(0, 1n << 60n, true); return b; })(), /header length \d+ exceeds/],
    ['badjson', (() => { const b = good.slice(); b[8] = 0x5b; return b; })(), /not valid UTF-8 JSON/],
    ['dtype', withHeader(good, (h) => { h.w.dtype = 'F16'; }), /tensor 'w': unsupported dtype "F16"/],
    ['shape', withHeader(good, (h) => { h.b.shape = [4]; }), /tensor 'b': shape \[4\] of F64 needs 32 bytes but data_offsets span 24/],
    ['overlap', withHeader(good, (h) => { h.idx.data_offsets = [h.w.data_offsets[0], h.w.data_offsets[0] + 16]; }), /overlap/],
    ['range', withHeader(good, (h) => { h.b.data_offsets = [1000, 1024]; }), /tensor 'b': data_offsets \[1000, 1024\] out of range/],
    ['gap', withHeader(good, () => {}, 4), /not contiguous: 4 bytes after the last tensor/],
    ['meta', withHeader(good, (h) => { h.__metadata__ = { n: 1 }; }), /metadata 'n' must be a string/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(d, `${name}.safetensors`);
    writeFileSync(p, bytes);
    assert.throws(() => loadSafetensors(p), (e: unknown) => e instanceof FormatError && e.message.startsWith(p) && re.test(e.message), name);
  }
  assert.throws(() => loadSafetensors(join(d, 'missing.safetensors')), (e: unknown) => e instanceof FormatError && /ENOENT/.test((e as Error).message));
});

test('a hole between tensors is rejected as non-contiguous', () => {
  const t = { a: { dtype: 'int32' as const, shape: [1], data: Int32Array.from([1]) }, b: { dtype: 'int32' as const, shape: [1], data: Int32Array.from([2]) } };
  const bytes = withHeader(encodeSafetensors(t), (h) => { h.b.data_offsets = [8, 12]; }, 4);
  assert.throws(() => decodeSafetensors(bytes, 'x.st'), /x\.st: tensor 'b': buffer is not contiguous, gap of 4 bytes/);
});

test('a failed save leaves the previous file intact', () => {
  const d = fresh();
  const p = join(d, 'ckpt.safetensors');
  saveSafetensors(p, sample());
  const before = readFileSync(p);
  const bad = { w: { dtype: 'float16', shape: [1], data: new Float32Array(1) } } as unknown as Record<string, SafeTensor>;
  assert.throws(() => saveSafetensors(p, bad), (e: unknown) => e instanceof FormatError && /tensor 'w': unsupported dtype 'float16'/.test((e as Error).message));
  const mismatch = { w: { dtype: 'int64', shape: [2], data: new Int32Array(2) } } as unknown as Record<string, SafeTensor>;
  assert.throws(() => saveSafetensors(p, mismatch), /needs a BigInt64Array, got Int32Array/);
  assert.throws(() => saveSafetensors(p, { w: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }), /holds 3 elements but data has 2/);
  assert.deepEqual(readFileSync(p), before);
  assert.deepEqual(readdirSync(d), ['ckpt.safetensors']);
  // Folder removed before the write: the save fails loudly instead of writing somewhere else.
  rmSync(d, { recursive: true });
  assert.throws(() => saveSafetensors(p, sample()), /ENOENT/);
});

test('typed-array views with a byte offset are written from their own window', () => {
  const big = Float32Array.from([9, 1, 2, 9]);
  const bytes = encodeSafetensors({ v: { dtype: 'float32', shape: [2], data: big.subarray(1, 3) } });
  assert.deepEqual(decodeSafetensors(bytes).tensors['v']!.data, Float32Array.from([1, 2]));
});
