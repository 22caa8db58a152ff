/**
 * The `relml` command line:
 *   relml train    --model mlp|cnn --dataset fashion-mnist --epochs N --batch-size B --optimizer sgd|adam|adamw
 *                  --lr X --seed S --sites K --out DIR [--data-dir DIR]
 *   relml evaluate --checkpoint F [--data-dir DIR]
 *   relml predict  --checkpoint F --input IDX
 * Bad input (options, data files, checkpoints, an unwritable --out) is one line on stderr naming the file or
 * option and what was expected, and exit code 2; nothing already written is touched. Other failures exit 1.
 */
// nn first: kernels/conv.ts must register im2col before the ort backend copies the reference kernels.
import { CompiledModel, argmaxRows, toFloat32 } from '../nn/compiled.js';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InprocExecutor } from '../exec/inproc/index.js';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DEFAULT_DIR, IDX_IMAGES, readIdx } from '../data/idx.js';
import { FormatError, OptionError, RelmlError } from '../errors.js';
import { helpText, parseArgs, type OptionSpec, type Parsed } from './args.js';
import { loadCheckpoint } from './checkpoint.js';
import { MODELS, exampleShape, type ModelKind } from './models.js';
import { evaluate, loadData, train } from './train.js';

/** The defaults are the README's main job: `npm start` = `relml train` with these. */
export const DEFAULTS = { model: 'mlp', epochs: 24, batchSize: 128, optimizer: 'sgd', lr: 0.05, momentum: 0.9, schedule: 'cosine', out: 'runs/fashion-mnist-mlp' } as const;

const DATA: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', meta: 'DIR', help: `folder with the Fashion-MNIST IDX files (else $RELML_FASHION_MNIST_DIR, else ${FASHION_MNIST_DEFAULT_DIR})` },
};

const TRAIN: Record<string, OptionSpec> = {
  model: { type: 'choice', choices: MODELS, default: DEFAULTS.model, help: 'model to train' },
  dataset: { type: 'choice', choices: ['fashion-mnist'], default: 'fashion-mnist', help: 'data set' },
  epochs: { type: 'int', default: DEFAULTS.epochs, help: 'epochs to train' },
  'batch-size': { type: 'int', default: DEFAULTS.batchSize, help: 'mini-batch size' },
  optimizer: { type: 'choice', choices: ['sgd', 'adam', 'adamw'], default: DEFAULTS.optimizer, help: 'optimizer' },
  lr: { type: 'number', default: DEFAULTS.lr, help: 'learning rate' },
  momentum: { type: 'number', min: 0, default: DEFAULTS.momentum, help: 'SGD momentum (0 = plain SGD)' },
  'weight-decay': { type: 'number', min: 0, default: 0, help: 'weight decay (AdamW: 0 means its default 0.01)' },
  schedule: { type: 'choice', choices: ['constant', 'cosine'], default: DEFAULTS.schedule, help: 'learning-rate schedule over all steps' },
  'label-smoothing': { type: 'number', min: 0, default: 0, help: 'label smoothing in [0, 1)' },
  seed: { type: 'int', min: 0, default: 1, help: 'seed for initialisation and data order' },
  sites: { type: 'int', default: 1, help: 'executor sites (1 = run in this thread)' },
  out: { type: 'string', meta: 'DIR', default: DEFAULTS.out, help: 'output folder: checkpoints, metrics.json, SVG plots; restarting with the same folder resumes' },
  ...DATA,
  'train-limit': { type: 'int', min: 0, default: 0, help: 'use only the first N training images (0 = all)' },
  'test-limit': { type: 'int', min: 0, default: 0, help: 'evaluate on only the first N test images (0 = all)' },
  'checkpoint-every': { type: 'int', min: 0, default: 100, help: 'also checkpoint every N steps inside an epoch (0 = only at epoch ends)' },
  'max-steps': { type: 'int', min: 0, default: 0, help: 'stop with a checkpoint after N steps in total (0 = no limit)' },
  'install-data': { type: 'flag', help: 'when the data files are missing and running as root, apt-get install dataset-fashion-mnist first' },
  help: { type: 'flag', help: 'show this help' },
};

const EVALUATE: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', meta: 'FILE', help: 'checkpoint (.safetensors) written by relml train' },
  ...DATA,
  'test-limit': { type: 'int', min: 0, default: 0, help: 'evaluate on only the first N test images (0 = all)' },
  help: { type: 'flag', help: 'show this help' },
};

const PREDICT: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', meta: 'FILE', help: 'checkpoint (.safetensors) written by relml train' },
  input: { type: 'string', meta: 'IDX', help: 'IDX file of 28x28 images (gzipped or not)' },
  help: { type: 'flag', help: 'show this help' },
};

const USAGE = `usage: relml <command> [options]

commands:
  train      train a model, with progress, evaluation, checkpoints (resumable) and a report
  evaluate   test-set loss, accuracy and confusion matrix of a checkpoint
  predict    class of every image in an IDX file, from a checkpoint

relml <command> --help lists the command's options.`;

interface Out { write(s: string): unknown; isTTY?: boolean; columns?: number }

function required(p: Parsed, name: string): string {
  const v = p[name];
  if (v === undefined) throw new OptionError(`--${name}`, 'is required');
  return String(v);
}

/** Installs Debian's dataset-fashion-mnist when the files are missing and we may (root, apt-get present). */
function installData(dataDir: string | undefined, err: Out): void {
  const dir = dataDir ?? (process.env['RELML_FASHION_MNIST_DIR'] || FASHION_MNIST_DEFAULT_DIR);
  if (existsSync(join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(join(dir, 'train-images-idx3-ubyte'))) return;
  if (dir !== FASHION_MNIST_DEFAULT_DIR || typeof process.getuid !== 'function' || process.getuid() !== 0) return; // the loader's error says how to install
  err.write(`relml: Fashion-MNIST is missing; installing Debian's dataset-fashion-mnist (apt-get)\n`);
  for (const args of [['update', '-q'], ['install', '-y', '-q', 'dataset-fashion-mnist']]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) { err.write(`relml: apt-get ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})\n`); return; }
  }
}

async function cmdTrain(argv: string[], out: Out, err: Out): Promise<number> {
  const p = parseArgs(argv, TRAIN);
  if (p.help) { out.write(`usage: relml train [options]\n\n${helpText(TRAIN)}\n`); return 0; }
  if ((p['label-smoothing'] as number) >= 1) throw new OptionError('--label-smoothing', `expected a number in [0, 1), got ${p['label-smoothing']}`);
  if (p['install-data']) installData(p['data-dir'] as string | undefined, err);
  const r = await train({
    model: p.model as ModelKind, dataset: p.dataset as string, epochs: p.epochs as number, batchSize: p['batch-size'] as number,
    optimizer: p.optimizer as 'sgd' | 'adam' | 'adamw', lr: p.lr as number, momentum: p.optimizer === 'sgd' ? p.momentum as number : 0,
    weightDecay: p['weight-decay'] as number, schedule: p.schedule as 'constant' | 'cosine', labelSmoothing: p['label-smoothing'] as number,
    seed: p.seed as number, sites: p.sites as number, out: p.out as string, dataDir: p['data-dir'] as string | undefined,
    trainLimit: p['train-limit'] as number, testLimit: p['test-limit'] as number, checkpointEvery: p['checkpoint-every'] as number,
    maxSteps: p['max-steps'] as number,
  }, { stdout: out, stderr: err });
  // Stopped by a signal (after checkpointing): the shell's convention, 128 + signal number.
  return !r.stopped ? 0 : r.signal === 'SIGINT' ? 130 : r.signal === 'SIGTERM' ? 143 : 0;
}

async function cmdEvaluate(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, EVALUATE);
  if (p.help) { out.write(`usage: relml evaluate --checkpoint FILE [options]\n\n${helpText(EVALUATE)}\n`); return 0; }
  const path = required(p, 'checkpoint');
  const ck = loadCheckpoint(path);
  const data = loadData(ck.config.dataset, p['data-dir'] as string | undefined, 1, p['test-limit'] as number);
  const ex = new InprocExecutor({ sites: 1 });
  try {
    const cm = new CompiledModel(toFloat32(ck.model), { executor: ex, exampleShape: exampleShape(ck.config.model), classes: 10 });
    const ev = await evaluate(cm, data.test);
    out.write(`${path}: ${ck.config.model}, epoch ${ck.epoch}${ck.batch ? ` + ${ck.batch} batches` : ''} (step ${ck.step})\n`);
    out.write(`test loss ${ev.loss.toFixed(4)}, accuracy ${(ev.accuracy * 100).toFixed(2)}% on ${ev.n} images\n`);
    ev.confusion.forEach((row, i) => {
      const n = row.reduce((a, b) => a + b, 0);
      out.write(`  ${FASHION_MNIST_CLASSES[i]!.padEnd(12)} ${n ? ((100 * row[i]!) / n).toFixed(1).padStart(5) : '  -  '}%  (${n} images)\n`);
    });
    out.write(`${JSON.stringify({ checkpoint: path, testLoss: ev.loss, testAccuracy: ev.accuracy, n: ev.n, confusion: ev.confusion })}\n`);
  } finally { await ex.close(); }
  return 0;
}

async function cmdPredict(argv: string[], out: Out): Promise<number> {
  const p = parseArgs(argv, PREDICT);
  if (p.help) { out.write(`usage: relml predict --checkpoint FILE --input IDX\n\n${helpText(PREDICT)}\n`); return 0; }
  const path = required(p, 'checkpoint'), inputPath = required(p, 'input');
  const ck = loadCheckpoint(path);
  const img = readIdx(inputPath);
  if (img.shape.length === 3 ? img.shape[1] !== 28 || img.shape[2] !== 28 : !(img.shape.length === 2 && img.shape[1] === 784)) {
    throw new FormatError(inputPath, `expected images of shape [N, 28, 28] (IDX magic 0x${IDX_IMAGES.toString(16).padStart(8, '0')}), found [${img.shape}]`);
  }
  const n = img.shape[0]!, x = new Float32Array(img.data.length);
  for (let i = 0; i < x.length; i++) x[i] = img.data[i]! / 255;
  const ex = new InprocExecutor({ sites: 1 });
  try {
    const cm = new CompiledModel(toFloat32(ck.model), { executor: ex, exampleShape: exampleShape(ck.config.model), classes: 10 });
    out.write('index,class,name,probability\n');
    const B = 1000;
    for (let i = 0; i < n; i += B) {
      const m = Math.min(B, n - i);
      const logits = await cm.predict(x.subarray(i * 784, (i + m) * 784), m);
      const pred = argmaxRows(logits, 10);
      for (let j = 0; j < m; j++) {
        let mx = -Infinity, s = 0;
        for (let c = 0; c < 10; c++) mx = Math.max(mx, logits[j * 10 + c]!);
        for (let c = 0; c < 10; c++) s += Math.exp(logits[j * 10 + c]! - mx);
        const k = pred[j]!;
        out.write(`${i + j},${k},${FASHION_MNIST_CLASSES[k]},${(Math.exp(logits[j * 10 + k]! - mx) / s).toFixed(4)}\n`);
      }
    }
  } finally { await ex.close(); }
  return 0;
}

export async function main(argv: string[], out: Out = process.stdout, err: Out = process.stderr): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'train': return await cmdTrain(rest, out, err);
      case 'evaluate': return await cmdEvaluate(rest, out);
      case 'predict': return await cmdPredict(rest, out);
      case undefined: case '--help': case '-h': case 'help':
        out.write(`${USAGE}\n`); return cmd === undefined ? 2 : 0;
      default:
        err.write(`relml: unknown command ${JSON.stringify(cmd)}; expected train, evaluate or predict\n`); return 2;
    }
  } catch (e) {
    if (e instanceof RelmlError && ['OPTION', 'FORMAT', 'SHAPE', 'BINDING'].includes(e.code)) {
      // One line (a progress bar may be mid-line on a terminal: start a fresh one).
      err.write(`${err.isTTY ? '\n' : ''}relml: ${e.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return 2;
    }
    throw e;
  }
}
