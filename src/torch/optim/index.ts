export { Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { StepLR, CosineAnnealingLR, clipGradNorm, type LRScheduler } from './schedule.js';
