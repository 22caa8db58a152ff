/**
 * Training checkpoints in the safetensors format: the model's parameters as `model.<name>` (float32, the
 * PyTorch layouts, so `safetensors.torch.load_file` reads them), the optimiser's buffers as
 * `optim.<name>.<buffer>` (float64), and everything else needed to continue bit for bit in the metadata
 * (model kind, optimiser settings, seed, completed epochs, position inside the current epoch, history).
 * Files are written atomically; reading validates every field and every shape against the model.
 */
import { FormatError } from '../errors.js';
import { loadSafetensors, saveSafetensors, type SafeTensor } from '../io/safetensors.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { buildModel, MODELS, type ModelKind } from './models.js';

export const CHECKPOINT_FORMAT = 'relml-checkpoint';
export const CHECKPOINT_VERSION = '1';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface TrainConfig {
  model: ModelKind;
  dataset: string;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'constant' | 'cosine';
  batchSize: number;
  epochs: number;
  seed: number;
  trainLimit: number;
  labelSmoothing: number;
}

export interface CheckpointState {
  config: TrainConfig;
  /** Epochs completed. */
  epoch: number;
  /** Batches completed inside epoch `epoch` (0 at an epoch boundary). */
  batch: number;
  /** Optimiser steps taken in total. */
  step: number;
  history: EpochRecord[];
  /** Running sums of the unfinished epoch (so its reported train loss/accuracy survive a resume). */
  partial?: { lossSum: number; correct: number; seen: number; seconds: number };
}

export function saveCheckpoint(path: string, model: Module, opt: Optimizer | undefined, st: CheckpointState): void {
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, p] of Object.entries(model.parameters())) {
    tensors[`model.${name}`] = { dtype: 'float32', shape: [...p.shape], data: p.data instanceof Float32Array ? p.data : Float32Array.from(p.data) };
  }
  let optT = 0;
  if (opt) {
    const sd = opt.stateDict();
    optT = sd.t;
    for (const [name, s] of Object.entries(sd.state)) {
      const shape = model.parameters()[name]!.shape;
      for (const [k, v] of Object.entries(s)) tensors[`optim.${name}.${k}`] = { dtype: 'float64', shape: [...shape], data: v };
    }
  }
  saveSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION,
    config: JSON.stringify(st.config),
    epoch: String(st.epoch), batch: String(st.batch), step: String(st.step),
    optimizer_t: String(optT),
    history: JSON.stringify(st.history),
    ...(st.partial && st.batch > 0 ? { partial: JSON.stringify(st.partial) } : {}),
  });
}

export interface LoadedCheckpoint extends CheckpointState {
  model: Module;
  optimizerState: { t: number; state: Record<string, Record<string, Float64Array>> };
}

const MODEL_PREFIX = 'model.', OPTIM_PREFIX = 'optim.';

/** Reads and validates a checkpoint, building its model with the stored parameters. */
export function loadCheckpoint(path: string, expect?: { model?: ModelKind }): LoadedCheckpoint {
  const file = loadSafetensors(path);
  const md = file.metadata;
  if (md.format !== CHECKPOINT_FORMAT) throw new FormatError(path, `not a relml checkpoint (metadata format ${JSON.stringify(md.format ?? null)}, expected ${JSON.stringify(CHECKPOINT_FORMAT)})`);
  if (md.version !== CHECKPOINT_VERSION) throw new FormatError(path, `checkpoint version ${JSON.stringify(md.version ?? null)}, this relml reads version ${CHECKPOINT_VERSION}`);
  const int = (k: string): number => {
    const v = Number(md[k]);
    if (md[k] === undefined || !Number.isSafeInteger(v) || v < 0) throw new FormatError(path, `metadata '${k}' must be a non-negative integer, got ${JSON.stringify(md[k] ?? null)}`);
    return v;
  };
  const json = (k: string): unknown => {
    try { return JSON.parse(md[k] ?? ''); } catch { throw new FormatError(path, `metadata '${k}' is not valid JSON`); }
  };
  const config = json('config') as TrainConfig;
  if (!config || typeof config !== 'object' || !(MODELS as readonly string[]).includes(config.model)) throw new FormatError(path, `metadata 'config' must name a model (${MODELS.join(', ')}), got ${JSON.stringify((config as { model?: unknown } | null)?.model ?? null)}`);
  if (expect?.model && expect.model !== config.model) throw new FormatError(path, `checkpoint holds a '${config.model}' model, expected '${expect.model}'`);
  const history = json('history');
  if (!Array.isArray(history)) throw new FormatError(path, "metadata 'history' must be a JSON list");
  const model = buildModel(config.model, config.seed ?? 0);
  const params = model.parameters();
  for (const [name, p] of Object.entries(params)) {
    const t = file.tensors[MODEL_PREFIX + name];
    if (!t) throw new FormatError(path, `tensor '${MODEL_PREFIX + name}' missing: the ${config.model} model needs it with shape [${p.shape}]`);
    if (t.shape.join() !== p.shape.join()) throw new FormatError(path, `tensor '${MODEL_PREFIX + name}' has shape [${t.shape}], the ${config.model} model expects [${p.shape}]`);
    if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new FormatError(path, `tensor '${MODEL_PREFIX + name}' has dtype ${t.dtype}, expected float32`);
    const data = Float32Array.from(t.data as Float32Array | Float64Array);
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new FormatError(path, `tensor '${MODEL_PREFIX + name}' holds ${data[i]} at element ${i}`);
    p.data = data;
  }
  const state: Record<string, Record<string, Float64Array>> = {};
  for (const [key, t] of Object.entries(file.tensors)) {
    if (key.startsWith(MODEL_PREFIX)) {
      if (!params[key.slice(MODEL_PREFIX.length)]) throw new FormatError(path, `tensor '${key}' is not a parameter of the ${config.model} model`);
      continue;
    }
    if (!key.startsWith(OPTIM_PREFIX)) throw new FormatError(path, `unexpected tensor '${key}' (expected model.* or optim.*)`);
    const rest = key.slice(OPTIM_PREFIX.length), dot = rest.lastIndexOf('.');
    const name = rest.slice(0, dot), buf = rest.slice(dot + 1), p = params[name];
    if (dot < 0 || !p) throw new FormatError(path, `optimizer tensor '${key}' names no parameter of the ${config.model} model`);
    if (t.shape.join() !== p.shape.join()) throw new FormatError(path, `tensor '${key}' has shape [${t.shape}], expected [${p.shape}]`);
    (state[name] ??= {})[buf] = Float64Array.from(t.data as Float32Array | Float64Array);
  }
  const partial = md.partial === undefined ? undefined : json('partial') as CheckpointState['partial'];
  if (partial !== undefined && (typeof partial !== 'object' || partial === null || !['lossSum', 'correct', 'seen', 'seconds'].every((k) => Number.isFinite((partial as Record<string, unknown>)[k])))) throw new FormatError(path, "metadata 'partial' must hold lossSum, correct, seen and seconds");
  return {
    model, config, history: history as EpochRecord[], partial,
    epoch: int('epoch'), batch: int('batch'), step: int('step'),
    optimizerState: { t: int('optimizer_t'), state },
  };
}
