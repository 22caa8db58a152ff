export { Optimizer, SGD, Adam, AdamW, clipGradNorm, type Grads } from './optimizer.js';
export { stepLR, cosineLR, warmup, type Schedule } from './schedule.js';
