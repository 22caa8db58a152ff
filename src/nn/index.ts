export { Module, Sequential, type Param, type Params, type Aux } from './module.js';
export { Linear, Conv2d, MaxPool2d, AvgPool2d, Activation, Dropout, LayerNorm, BatchNorm, Embedding, Flatten } from './layers.js';
export { MultiheadAttention, type AttentionOptions } from './attention.js';
export * from './functional.js';
export { initValues, fans, type Init } from './init.js';
export { valueAndGradModule, type StepResult } from './train.js';
export { CompiledModel, toFloat32, crossEntropyTargets, oneHotTargets, argmaxRows, type CompiledOptions, type CompiledStepResult } from './compiled.js';
