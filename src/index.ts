/**
 * mmgap: find and fix modality imbalance in multimodal classifiers, sample by sample.
 * The core math (src/core) needs no engine; the rest runs on libtorch through the addon.
 */
export * from './core/index.js';
export * as torch from './torch/index.js';
export * as data from './data/index.js';
export * from './models/index.js';
export type { Method, MethodFactory, MethodOptions, MethodState, EpochContext, StepContext, TrainBatch, SplitPredictions, LossResult, EpochPlan, Stage } from './methods/method.js';
export { METHODS, getMethod } from './methods/registry.js';
export { trainRun, RunAborted } from './train/run.js';
export { resolveConfig, ConfigError } from './train/config.js';
export * from './train/types.js';
export { diagnosePredictions, diagnosePredictionsFile, type PredictionsDiagnosis, type PredictionsSummary } from './diagnose/diagnose-predictions.js';
export { readPredictions, PREDICTIONS_SETTINGS, type Predictions, type PredictionsOptions } from './diagnose/predictions.js';
