/**
 * The training job behind `relml train`: data, model, compiled step on the in-process executor, progress,
 * evaluation each epoch, checkpoints (every `checkpointEvery` steps, at each epoch's end, and on
 * SIGINT/SIGTERM) and resuming from the last one, then the report. Everything random flows from the seed
 * (initialisation, the order of every epoch), and a checkpoint holds all the state there is, so a run
 * killed at any point and restarted with the same --out ends with the same parameters, bit for bit, as a
 * run that was never interrupted.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
// nn before the executor: kernels/conv.ts must register im2col before the ort backend copies the
// reference kernels (see the report on issue 4).
import { CompiledModel, argmaxRows, toFloat32 } from '../nn/compiled.js';
import { InprocExecutor } from '../exec/inproc/index.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist, type MnistSplit } from '../data/idx.js';
import { DataLoader, deriveSeed } from '../data/loader.js';
import { OptionError } from '../errors.js';
import { ensureWritableDir, writeFileAtomic } from '../io/atomic.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW, SGD, type Optimizer } from '../optim/optimizer.js';
import { cosineLR } from '../optim/schedule.js';
import type { Executor } from '../exec/executor.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointState, type EpochRecord, type TrainConfig } from './checkpoint.js';
import { buildModel, exampleShape } from './models.js';
import { formatDuration, ProgressBar, type Sink } from './progress.js';
import { writeReport, type Evaluation } from './report.js';

export const LAST_CHECKPOINT = 'last.safetensors';
export const epochCheckpoint = (epoch: number) => `checkpoint-epoch-${epoch}.safetensors`;

export interface TrainOptions extends TrainConfig {
  out: string;
  sites: number;
  dataDir?: string;
  testLimit: number;
  /** Save last.safetensors every this many steps (0: only at epoch ends and on a signal). */
  checkpointEvery: number;
  /** Stop (with a checkpoint, as after a signal) once this many steps are done in total; 0 = no limit. */
  maxSteps?: number;
}

export interface TrainIO { stderr: Sink; stdout: Sink }

export interface TrainResult { history: EpochRecord[]; final: Evaluation; resumedFrom?: { epoch: number; batch: number; step: number }; stopped: boolean; signal?: NodeJS.Signals; out: string }

/** Loads the data set's two splits (train limited to the first `trainLimit` images, 0 = all). */
export function loadData(dataset: string, dataDir: string | undefined, trainLimit: number, testLimit: number): { train: MnistSplit; test: MnistSplit } {
  if (dataset !== 'fashion-mnist') throw new OptionError('--dataset', `expected fashion-mnist, got ${JSON.stringify(dataset)}`);
  const d = loadFashionMnist(dataDir);
  return { train: limit(d.train, trainLimit), test: limit(d.test, testLimit) };
}

function limit(s: MnistSplit, n: number): MnistSplit {
  if (!n || n >= s.n) return s;
  return { n, images: s.images.subarray(0, n * 784), labels: s.labels.subarray(0, n) };
}

export function makeOptimizer(c: TrainConfig): Optimizer {
  if (c.optimizer === 'sgd') return new SGD(c.lr, { momentum: c.momentum, weightDecay: c.weightDecay });
  if (c.optimizer === 'adam') return new Adam(c.lr, { weightDecay: c.weightDecay });
  return new AdamW(c.lr, { weightDecay: c.weightDecay || 1e-2 });
}

/** Mean loss, accuracy and confusion matrix of the model on a split, in batches of `batch`. */
export async function evaluate(cm: CompiledModel, split: MnistSplit, batch = 1000, classes = 10): Promise<Evaluation> {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const row = 784;
  let lossSum = 0, correct = 0;
  for (let i = 0; i < split.n; i += batch) {
    const m = Math.min(batch, split.n - i);
    const logits = await cm.predict(split.images.subarray(i * row, (i + m) * row), m);
    const pred = argmaxRows(logits, classes);
    for (let j = 0; j < m; j++) {
      const y = split.labels[i + j]!;
      lossSum += crossEntropyRow(logits, j, y, classes);
      confusion[y]![pred[j]!]!++;
      if (pred[j] === y) correct++;
    }
  }
  return { loss: split.n ? lossSum / split.n : 0, accuracy: split.n ? correct / split.n : 0, confusion, n: split.n };
}

/** -log softmax(logits[row])[y], computed stably. */
export function crossEntropyRow(logits: ArrayLike<number>, row: number, y: number, classes: number): number {
  let mx = -Infinity;
  for (let c = 0; c < classes; c++) mx = Math.max(mx, logits[row * classes + c]!);
  let s = 0;
  for (let c = 0; c < classes; c++) s += Math.exp(logits[row * classes + c]! - mx);
  return Math.log(s) + mx - logits[row * classes + y]!;
}

/** Options that must agree with the checkpoint being resumed (else the result would be neither run). */
const MUST_MATCH: readonly (keyof TrainConfig)[] = ['model', 'dataset', 'optimizer', 'lr', 'momentum', 'weightDecay', 'schedule', 'batchSize', 'seed', 'trainLimit', 'labelSmoothing'];
const FLAG: Partial<Record<keyof TrainConfig, string>> = { batchSize: 'batch-size', weightDecay: 'weight-decay', trainLimit: 'train-limit', labelSmoothing: 'label-smoothing' };

export async function train(opts: TrainOptions, io: TrainIO, executor?: Executor): Promise<TrainResult> {
  ensureWritableDir(opts.out);
  const config: TrainConfig = {
    model: opts.model, dataset: opts.dataset, optimizer: opts.optimizer, lr: opts.lr, momentum: opts.momentum, weightDecay: opts.weightDecay,
    schedule: opts.schedule, batchSize: opts.batchSize, epochs: opts.epochs, seed: opts.seed, trainLimit: opts.trainLimit, labelSmoothing: opts.labelSmoothing,
  };
  const lastPath = join(opts.out, LAST_CHECKPOINT);
  // Resume: read and check the checkpoint before anything is loaded or written.
  let model: Module, opt = makeOptimizer(config), st: CheckpointState = { config, epoch: 0, batch: 0, step: 0, history: [] };
  let resumedFrom: TrainResult['resumedFrom'];
  if (existsSync(lastPath)) {
    const ck = loadCheckpoint(lastPath);
    for (const k of [...MUST_MATCH, ...(config.schedule === 'cosine' ? ['epochs' as const] : [])]) {
      if (ck.config[k] !== config[k]) throw new OptionError(`--${FLAG[k] ?? k}`, `is ${JSON.stringify(config[k])} but ${lastPath} was trained with ${JSON.stringify(ck.config[k])}; pass the same value to resume, or another --out to start afresh`);
    }
    model = ck.model;
    opt.loadStateDict(ck.optimizerState, model.parameters());
    st = { config, epoch: ck.epoch, batch: ck.batch, step: ck.step, history: ck.history, partial: ck.partial };
    resumedFrom = { epoch: ck.epoch, batch: ck.batch, step: ck.step };
  } else model = buildModel(config.model, config.seed);
  toFloat32(model);
  const data = loadData(config.dataset, opts.dataDir, config.trainLimit, opts.testLimit);
  const loader = new DataLoader(data.train.images, 784, data.train.labels, { batchSize: config.batchSize, seed: deriveSeed(config.seed, 1) });
  if (resumedFrom && resumedFrom.batch > loader.numBatches) throw new OptionError('--out', `${lastPath} stopped at batch ${resumedFrom.batch} of an epoch, but this data set has ${loader.numBatches} batches per epoch`);
  const ownExecutor = !executor;
  const ex = executor ?? new InprocExecutor({ sites: opts.sites });
  const cm = new CompiledModel(model, { executor: ex, exampleShape: exampleShape(config.model), classes: 10, labelSmoothing: config.labelSmoothing });
  const totalSteps = config.epochs * loader.numBatches;
  const lrAt = config.schedule === 'cosine' ? cosineLR(config.lr, totalSteps) : () => config.lr;
  const err = io.stderr;
  if (resumedFrom && resumedFrom.epoch >= config.epochs) err.write(`relml: ${lastPath} already holds all ${resumedFrom.epoch} epochs; evaluating it and rewriting the report (pass another --out, or remove this one, to train again)\n`);
  else if (resumedFrom) err.write(`relml: resuming ${lastPath} at epoch ${resumedFrom.epoch + 1}, batch ${resumedFrom.batch}/${loader.numBatches} (step ${resumedFrom.step})\n`);
  err.write(`relml: ${config.model} on ${config.dataset} (${data.train.n} train / ${data.test.n} test images), ${config.optimizer} lr ${config.lr}${config.schedule === 'cosine' ? ' cosine' : ''}, batch ${config.batchSize}, ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}, executor ${ex.name}${ex instanceof InprocExecutor ? ` [${ex.backend}]` : ''}, out ${opts.out}\n`);

  // A signal stops at the next step boundary with a checkpoint; a second one exits at once.
  let stopRequested: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => { if (stopRequested) process.exit(130); stopRequested = sig; };
  process.on('SIGINT', onSignal); process.on('SIGTERM', onSignal);
  const save = (extraEpochFile?: number) => {
    saveCheckpoint(lastPath, model, opt, st);
    if (extraEpochFile !== undefined) copyFileSync(lastPath, join(opts.out, epochCheckpoint(extraEpochFile)));
  };
  let stopped = false;
  try {
    for (let epoch = st.epoch; epoch < config.epochs && !stopped; epoch++) {
      const bar = new ProgressBar(err, `epoch ${epoch + 1}/${config.epochs}`, loader.numBatches, config.batchSize);
      const part = st.batch > 0 && st.partial ? st.partial : { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      bar.begin(st.batch);
      let t0 = performance.now();
      for (const b of loader.epoch(epoch, st.batch)) {
        const r = await cm.step(b.x, b.y);
        opt.step(model.parameters(), r.grads, lrAt(st.step));
        const pred = argmaxRows(r.logits, 10);
        for (let j = 0; j < b.size; j++) if (pred[j] === b.y[j]) part.correct++;
        part.lossSum += r.loss * b.size; part.seen += b.size;
        st.step++; st.batch = b.index + 1;
        bar.update(st.batch, part.lossSum / part.seen, part.correct / part.seen);
        const now = performance.now();
        part.seconds += (now - t0) / 1000; t0 = now;
        st.partial = part;
        // One-site steps complete as microtasks; yield to the event loop so a signal can be delivered.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stopRequested || (opts.maxSteps && st.step >= opts.maxSteps)) { stopped = true; break; }
        if (opts.checkpointEvery > 0 && st.step % opts.checkpointEvery === 0 && st.batch < loader.numBatches) save();
      }
      if (stopped && st.batch < loader.numBatches) {
        bar.end();
        save();
        err.write(`relml: stopped at epoch ${epoch + 1}, batch ${st.batch}/${loader.numBatches} (step ${st.step})${stopRequested ? ` on ${stopRequested}` : ''}; checkpoint ${lastPath}; run the same command to resume\n`);
        break;
      }
      bar.update(st.batch, part.lossSum / Math.max(part.seen, 1), part.correct / Math.max(part.seen, 1), true);
      bar.end();
      const te = performance.now();
      const ev = await evaluate(cm, data.test);
      const rec: EpochRecord = {
        epoch: epoch + 1, trainLoss: part.lossSum / Math.max(part.seen, 1), trainAccuracy: part.correct / Math.max(part.seen, 1),
        testLoss: ev.loss, testAccuracy: ev.accuracy, seconds: part.seconds, imagesPerSecond: part.seen / Math.max(part.seconds, 1e-9),
      };
      st.history.push(rec);
      st.epoch = epoch + 1; st.batch = 0; st.partial = undefined;
      save(epoch + 1);
      writeReport(opts.out, config, st.history, ev, FASHION_MNIST_CLASSES, { sites: opts.sites, executor: ex.name });
      err.write(`epoch ${epoch + 1}/${config.epochs}: train loss ${rec.trainLoss.toFixed(4)} acc ${(rec.trainAccuracy * 100).toFixed(2)}% | test loss ${ev.loss.toFixed(4)} acc ${(ev.accuracy * 100).toFixed(2)}% | ${rec.seconds.toFixed(1)} s train (${rec.imagesPerSecond.toFixed(0)} img/s), ${((performance.now() - te) / 1000).toFixed(1)} s eval\n`);
      if (stopRequested || (opts.maxSteps && st.step >= opts.maxSteps)) stopped = epoch + 1 < config.epochs;
    }
    let final: Evaluation;
    if (stopped) final = { loss: NaN, accuracy: NaN, confusion: [], n: 0 };
    else {
      final = await evaluate(cm, data.test);
      writeReport(opts.out, config, st.history, final, FASHION_MNIST_CLASSES, { sites: opts.sites, executor: ex.name });
      const secs = st.history.reduce((t, h) => t + h.seconds, 0);
      io.stdout.write(`test accuracy ${(final.accuracy * 100).toFixed(2)}% (loss ${final.loss.toFixed(4)}) after ${config.epochs} epoch${config.epochs === 1 ? '' : 's'}, ${formatDuration(secs)} training; report in ${opts.out}\n`);
    }
    return { history: st.history, final, resumedFrom, stopped, signal: stopRequested, out: opts.out };
  } finally {
    process.off('SIGINT', onSignal); process.off('SIGTERM', onSignal);
    if (ownExecutor) await (ex as InprocExecutor).close();
  }
}
