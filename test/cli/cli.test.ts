/**
 * The `relml` command line, spawned as a child process on a small made-up Fashion-MNIST (--data-dir):
 * train writes checkpoints and the report; evaluate and predict read a checkpoint; a run killed mid-epoch
 * (SIGKILL) and restarted ends with exactly the parameters and optimiser state of an uninterrupted run;
 * bad input exits 2 with one line naming the file or option, and leaves what was written untouched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors, loadSafetensors } from '../../src/io/safetensors.js';
import { idxBytes, syntheticImages, writeSyntheticFashion } from '../helpers/synthetic_idx.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
let root: string, data: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'relml-cli-'));
  data = writeSyntheticFashion(join(root, 'data'), 240, 40);
});
after(() => rmSync(root, { recursive: true, force: true }));

function relml(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

/** A small train command; `extra` options replace the defaults of the same name. */
function small(out: string, extra: string[] = []): string[] {
  const defaults: Record<string, string> = { '--data-dir': data, '--out': out, '--epochs': '2', '--batch-size': '16', '--seed': '3' };
  for (let i = 0; i < extra.length; i += 2) delete defaults[extra[i]!];
  return ['train', ...Object.entries(defaults).flat(), ...extra];
}

/** Hash of every file in a folder (to prove nothing was touched). */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]));
}

/** Exit 2, exactly one line on stderr, mentioning `names`. */
function assertBadInput(r: SpawnSyncReturns<string>, ...names: string[]): void {
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(r.status, 2, `exit code: ${r.status}; stderr: ${r.stderr}`);
  assert.equal(lines.length, 1, `want one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0]!, /^relml: /);
  for (const n of names) assert.ok(lines[0]!.includes(n), `stderr should name ${n}: ${lines[0]}`);
}

test('train writes checkpoints each epoch, metrics.json and SVG plots; evaluate and predict read the checkpoint', () => {
  const out = join(root, 'run');
  const r = relml(small(out));
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['last.safetensors', 'checkpoint-epoch-1.safetensors', 'checkpoint-epoch-2.safetensors', 'metrics.json', 'loss.svg', 'accuracy.svg', 'confusion.svg']) assert.ok(existsSync(join(out, f)), f);
  assert.match(r.stderr, /epoch 1\/2 +\d+% \d+\/15 \d+ img\/s loss \d\.\d{4} acc [\d.]+% ETA/);
  assert.match(r.stdout, /test accuracy [\d.]+%/);
  const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(m.history.length, 2);
  assert.equal(m.final.confusion.flat().reduce((a: number, b: number) => a + b, 0), 40);
  assert.ok(m.final.testAccuracy > 0.8, `synthetic classes are easy: ${m.final.testAccuracy}`);
  assert.match(readFileSync(join(out, 'confusion.svg'), 'utf8'), /^<svg[^>]*>/);
  // A finished run restarted with the same --out does no more steps.
  const again = relml(small(out));
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /already holds all 2 epochs/);

  const ev = relml(['evaluate', '--checkpoint', join(out, 'checkpoint-epoch-2.safetensors'), '--data-dir', data]);
  assert.equal(ev.status, 0, ev.stderr);
  const last = JSON.parse(ev.stdout.trim().split('\n').pop()!);
  assert.equal(last.testAccuracy, m.final.testAccuracy);

  const imgs = join(root, 'five.idx');
  writeFileSync(imgs, idxBytes([5, 28, 28], syntheticImages(5, 99).images));
  const pr = relml(['predict', '--checkpoint', join(out, 'last.safetensors'), '--input', imgs]);
  assert.equal(pr.status, 0, pr.stderr);
  const rows = pr.stdout.trim().split('\n');
  assert.equal(rows[0], 'index,class,name,probability');
  assert.equal(rows.length, 6);
  assert.match(rows[1]!, /^0,\d,[^,]+,0\.\d{4}$|^0,\d,[^,]+,1\.0000$/);

  // The checkpoint holds PyTorch-layout float32 parameters and the metadata needed to resume.
  const ck = loadSafetensors(join(out, 'last.safetensors'));
  assert.deepEqual(ck.tensors['model.0.weight']!.shape, [256, 784]);
  assert.equal(ck.tensors['model.0.weight']!.dtype, 'float32');
  assert.equal(ck.metadata.format, 'relml-checkpoint');
  assert.equal(ck.metadata.step, '30');
});

test('kill -9 mid-epoch and restart: the resumed run ends with the same parameters as an uninterrupted one', async () => {
  const args = (out: string) => ['train', '--data-dir', data, '--out', out, '--epochs', '2', '--batch-size', '4', '--seed', '5', '--optimizer', 'adam', '--lr', '0.002', '--checkpoint-every', '1', '--test-limit', '20'];
  const whole = join(root, 'whole'), killed = join(root, 'killed');
  const a = relml(args(whole));
  assert.equal(a.status, 0, a.stderr);

  // Start, wait for a checkpoint in the middle of the first epoch (60 steps per epoch), kill -9.
  const child = spawn(process.execPath, [CLI, ...args(killed)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const lastPath = join(killed, 'last.safetensors');
  let killedAt = -1;
  for (let i = 0; i < 3000 && killedAt < 0; i++) {
    await new Promise((r) => setTimeout(r, 5));
    if (!existsSync(lastPath)) continue;
    const md = decodeSafetensors(readFileSync(lastPath)).metadata;
    if (Number(md.step) >= 7) { child.kill('SIGKILL'); killedAt = Number(md.step); }
  }
  await exited;
  assert.ok(killedAt >= 7 && killedAt < 60, `killed at step ${killedAt}`);
  const mid = decodeSafetensors(readFileSync(lastPath)).metadata;
  assert.ok(Number(mid.step) < 120, 'the run was interrupted before finishing');

  const b = relml(args(killed));
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, /resuming .* at epoch 1, batch \d+\/60/);

  const A = loadSafetensors(join(whole, 'last.safetensors')), B = loadSafetensors(join(killed, 'last.safetensors'));
  assert.equal(B.metadata.step, '120');
  assert.deepEqual(Object.keys(B.tensors).sort(), Object.keys(A.tensors).sort());
  assert.ok(Object.keys(A.tensors).some((k) => k.startsWith('optim.')), 'optimizer state is checkpointed');
  for (const [k, t] of Object.entries(A.tensors)) assert.deepEqual(B.tensors[k]!.data, t.data, `${k} differs after resume`);
  // Same per-epoch figures too (train loss and accuracy include the steps before the kill).
  const hA = JSON.parse(A.metadata.history!), hB = JSON.parse(B.metadata.history!);
  assert.deepEqual(hB.map((h: { trainLoss: number; testAccuracy: number }) => [h.trainLoss, h.testAccuracy]), hA.map((h: { trainLoss: number; testAccuracy: number }) => [h.trainLoss, h.testAccuracy]));
});

test('Ctrl-C (SIGINT) stops at a step boundary with a checkpoint, exit 130; the same command resumes', async () => {
  const out = join(root, 'sigint');
  const args = ['train', '--data-dir', data, '--out', out, '--epochs', '3', '--batch-size', '2', '--checkpoint-every', '0', '--test-limit', '10'];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
    if (/epoch 1\/3 +\d+% ([3-9]|\d\d+)\/120/.test(err) && !child.killed) child.kill('SIGINT');
  });
  assert.equal(await code, 130, err);
  assert.match(err, /stopped at epoch 1, batch \d+\/120 .*on SIGINT/);
  const md = decodeSafetensors(readFileSync(join(out, 'last.safetensors'))).metadata;
  assert.equal(md.epoch, '0');
  assert.ok(Number(md.batch) > 0 && Number(md.batch) < 120, `batch ${md.batch}`);
  const again = relml([...args, '--max-steps', String(Number(md.step) + 5)]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`resuming .* at epoch 1, batch ${md.batch}/120`));
  assert.equal(decodeSafetensors(readFileSync(join(out, 'last.safetensors'))).metadata.step, String(Number(md.step) + 5));
});

test('bad options: one line naming the option, exit 2', () => {
  const out = join(root, 'opts');
  assertBadInput(relml(small(out, ['--epochs', '-1'])), '--epochs', '-1');
  assertBadInput(relml(['train', '--lr', 'abc', '--data-dir', data, '--out', out]), '--lr', 'abc');
  assertBadInput(relml(['train', '--batch-size', '0', '--data-dir', data, '--out', out]), '--batch-size');
  assertBadInput(relml(['train', '--batch-size', '2.5', '--data-dir', data, '--out', out]), '--batch-size');
  assertBadInput(relml(['train', '--lr', '-0.1', '--data-dir', data, '--out', out]), '--lr');
  assertBadInput(relml(['train', '--sites', 'x', '--data-dir', data, '--out', out]), '--sites');
  assertBadInput(relml(['train', '--model', 'resnet', '--data-dir', data, '--out', out]), '--model', 'mlp, cnn');
  assertBadInput(relml(['train', '--epochs']), '--epochs');
  assertBadInput(relml(['train', '--bogus', '1']), '--bogus');
  assertBadInput(relml(['evaluate']), '--checkpoint');
  assert.ok(!existsSync(out), 'nothing was created for rejected options');
});

test('unwritable --out: exit 2 naming the folder', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assertBadInput(relml(small(join(file, 'sub'))), '--out', 'a-file');
});

test('truncated or corrupted IDX files: exit 2 naming the file', () => {
  const bad = join(root, 'bad-data');
  writeSyntheticFashion(bad, 50, 10);
  const img = join(bad, 'train-images-idx3-ubyte.gz');
  const gz = readFileSync(img);
  writeFileSync(img, gz.subarray(0, gz.length >> 1)); // truncated gzip stream
  assertBadInput(relml(['train', '--data-dir', bad, '--out', join(root, 'bad-out')]), img);
  writeFileSync(img, idxBytes([50, 28, 28], new Uint8Array(784 * 10))); // plain IDX, too few bytes
  assertBadInput(relml(['train', '--data-dir', bad, '--out', join(root, 'bad-out')]), img, 'truncated');
  const lbl = join(bad, 'train-labels-idx1-ubyte.gz');
  writeFileSync(img, idxBytes([50, 28, 28], new Uint8Array(784 * 50)));
  writeFileSync(lbl, Buffer.from('not an idx file at all'));
  assertBadInput(relml(['train', '--data-dir', bad, '--out', join(root, 'bad-out')]), lbl);
  // predict's --input too
  const five = join(root, 'short.idx');
  writeFileSync(five, idxBytes([5, 28, 28], syntheticImages(5, 1).images).subarray(0, 500));
  const out = join(root, 'run'); // written by the first test
  if (existsSync(join(out, 'last.safetensors'))) assertBadInput(relml(['predict', '--checkpoint', join(out, 'last.safetensors'), '--input', five]), five);
  writeFileSync(five, idxBytes([5], new Uint8Array(5)));
  if (existsSync(join(out, 'last.safetensors'))) assertBadInput(relml(['predict', '--checkpoint', join(out, 'last.safetensors'), '--input', five]), five, '28, 28');
});

test('truncated, corrupted or mismatched checkpoints: exit 2 naming the file; the run folder is left as it was', () => {
  const out = join(root, 'ck');
  const r = relml(small(out, ['--epochs', '1']));
  assert.equal(r.status, 0, r.stderr);
  const last = join(out, 'last.safetensors'), bytes = readFileSync(last);

  // Options that disagree with the checkpoint being resumed, or are invalid: nothing changes.
  const before = snapshot(out);
  assertBadInput(relml(small(out, ['--lr', '0.5'])), '--lr', last);
  assertBadInput(relml(small(out, ['--model', 'cnn'])), '--model');
  assertBadInput(relml(small(out, ['--seed', 'x'])), '--seed');
  assert.deepEqual(snapshot(out), before);

  // A truncated last.safetensors: train refuses to resume from it and does not overwrite it.
  writeFileSync(last, bytes.subarray(0, bytes.length - 100));
  const trunc = snapshot(out);
  assertBadInput(relml(small(out, ['--epochs', '2'])), last);
  assert.deepEqual(snapshot(out), trunc);
  assertBadInput(relml(['evaluate', '--checkpoint', last, '--data-dir', data]), last);

  // Garbage, and a file that is not there.
  const junk = join(root, 'junk.safetensors');
  writeFileSync(junk, 'definitely not safetensors');
  assertBadInput(relml(['evaluate', '--checkpoint', junk, '--data-dir', data]), junk);
  assertBadInput(relml(['evaluate', '--checkpoint', join(root, 'missing.safetensors'), '--data-dir', data]), 'missing.safetensors');

  // Valid safetensors whose shapes do not fit the model it names.
  const good = decodeSafetensors(bytes);
  const wrong = join(root, 'wrong-shape.safetensors');
  writeFileSync(wrong, encodeSafetensors({ ...good.tensors, 'model.0.weight': { dtype: 'float32', shape: [128, 784], data: new Float32Array(128 * 784) } }, good.metadata));
  assertBadInput(relml(['evaluate', '--checkpoint', wrong, '--data-dir', data]), wrong, 'model.0.weight', '[256,784]');
  const cnnMeta = { ...good.metadata, config: JSON.stringify({ ...JSON.parse(good.metadata.config!), model: 'cnn' }) };
  writeFileSync(wrong, encodeSafetensors(good.tensors, cnnMeta));
  assertBadInput(relml(['predict', '--checkpoint', wrong, '--input', join(data, 't10k-images-idx3-ubyte.gz')]), wrong);
});
