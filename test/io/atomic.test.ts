import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ensureWritableDir, writeFileAtomic } from '../../src/io/atomic.js';
import { OptionError } from '../../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'relml-atomic-'));

test('writeFileAtomic writes strings and bytes, replaces an existing file, leaves no temp', () => {
  const d = fresh();
  const p = join(d, 'a.txt');
  writeFileAtomic(p, 'first');
  assert.equal(readFileSync(p, 'utf8'), 'first');
  writeFileAtomic(p, new Uint8Array([104, 105]));
  assert.equal(readFileSync(p, 'utf8'), 'hi');
  assert.deepEqual(readdirSync(d), ['a.txt']);
});

test('a failed rename removes the temp file and leaves the target untouched', () => {
  const d = fresh();
  const target = join(d, 'busy');
  mkdirSync(target);
  writeFileSync(join(target, 'keep'), 'x'); // a non-empty folder cannot be renamed over
  assert.throws(() => writeFileAtomic(target, 'data'), (e: NodeJS.ErrnoException) => typeof e.code === 'string');
  assert.deepEqual(readdirSync(d), ['busy']);
  assert.equal(readFileSync(join(target, 'keep'), 'utf8'), 'x');
});

test('writing into a missing folder fails without creating anything', () => {
  const d = fresh();
  assert.throws(() => writeFileAtomic(join(d, 'gone', 'f.bin'), 'x'), /ENOENT/);
  assert.deepEqual(readdirSync(d), []);
});

test('wrong data type is refused before anything is written', () => {
  const d = fresh();
  const p = join(d, 'f');
  writeFileAtomic(p, 'old');
  assert.throws(() => writeFileAtomic(p, 42 as unknown as string), TypeError);
  assert.equal(readFileSync(p, 'utf8'), 'old');
  assert.deepEqual(readdirSync(d), ['f']);
});

// A real mid-write failure: a child process with a 8 KiB file-size limit (SIGXFSZ ignored, so write() returns
// EFBIG) tries to overwrite a small file with 1 MiB. The old contents must survive and no temp may remain.
test('a write that fails part-way (file-size limit) keeps the previous file', (t) => {
  if (process.platform !== 'linux') return t.skip('needs ulimit -f and SIGXFSZ (Linux)');
  const d = fresh();
  const p = join(d, 'ckpt.bin');
  writeFileAtomic(p, 'previous');
  const mod = fileURLToPath(new URL('../../src/io/atomic.js', import.meta.url));
  const script = `import(${JSON.stringify(mod)}).then(m => { try { m.writeFileAtomic(${JSON.stringify(p)}, new Uint8Array(1 << 20)); console.log('no error'); } catch (e) { console.log('failed', e.code); } })`;
  // Node binary and script go in as $0 and $1 so no quoting of the script is needed.
  const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 8; exec "$0" -e "$1"`, process.execPath, script], { encoding: 'utf8' });
  assert.match(r.stdout, /failed EFBIG/, r.stderr);
  assert.equal(readFileSync(p, 'utf8'), 'previous');
  assert.deepEqual(readdirSync(d), ['ckpt.bin']);
});

test('ensureWritableDir creates nested folders and rejects unwritable ones with OptionError naming them', () => {
  const d = fresh();
  const nested = join(d, 'a', 'b');
  ensureWritableDir(nested);
  assert.deepEqual(readdirSync(nested), []); // the probe file is cleaned up
  writeFileSync(join(d, 'file'), 'x');
  const bad = join(d, 'file', 'sub'); // a path through a regular file can never be a folder
  assert.throws(() => ensureWritableDir(bad), (e: unknown) => e instanceof OptionError && e.message.includes('--out') && e.message.includes(bad));
});
