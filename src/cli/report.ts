/**
 * The report a training run leaves in its --out folder: metrics.json (configuration, per-epoch history,
 * final test metrics with the confusion matrix and per-class accuracy), loss.svg and accuracy.svg
 * (training curves per epoch) and confusion.svg. Every file is written atomically.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { confusionMatrixSvg, lineChart } from '../report/svg.js';
import type { EpochRecord, TrainConfig } from './checkpoint.js';

export interface Evaluation { loss: number; accuracy: number; confusion: number[][]; n: number }

export const REPORT_FILES = ['metrics.json', 'loss.svg', 'accuracy.svg', 'confusion.svg'] as const;

export function writeReport(out: string, config: TrainConfig, history: readonly EpochRecord[], final: Evaluation, classes: readonly string[], extra: Record<string, unknown> = {}): void {
  const perClass = final.confusion.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return { class: classes[i], n, accuracy: n ? row[i]! / n : 0 };
  });
  const metrics = {
    config, ...extra,
    epochsCompleted: history.length,
    trainSeconds: history.reduce((t, h) => t + h.seconds, 0),
    final: { testLoss: final.loss, testAccuracy: final.accuracy, testImages: final.n, perClass, confusion: final.confusion, classes },
    history,
  };
  writeFileAtomic(join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  if (history.length === 0) return;
  const pts = (f: (h: EpochRecord) => number): Array<[number, number]> => history.map((h) => [h.epoch, f(h)]);
  writeFileAtomic(join(out, 'loss.svg'), lineChart({
    title: `${config.model} on ${config.dataset}: loss`, xLabel: 'epoch', yLabel: 'cross-entropy',
    series: [{ name: 'train', points: pts((h) => h.trainLoss) }, { name: 'test', points: pts((h) => h.testLoss) }],
  }));
  writeFileAtomic(join(out, 'accuracy.svg'), lineChart({
    title: `${config.model} on ${config.dataset}: accuracy`, xLabel: 'epoch', yLabel: 'accuracy (%)',
    series: [{ name: 'train', points: pts((h) => 100 * h.trainAccuracy) }, { name: 'test', points: pts((h) => 100 * h.testAccuracy) }],
  }));
  if (final.confusion.length) writeFileAtomic(join(out, 'confusion.svg'), confusionMatrixSvg(final.confusion, [...classes], `${config.model}: test confusion matrix (${(100 * final.accuracy).toFixed(2)}% accuracy)`));
}
