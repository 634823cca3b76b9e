export { Module } from './module.js';
export { Linear, Conv1d, Conv2d, LayerNorm, GRU, BatchNorm2d, SyncBatchNorm, convertSyncBatchNorm, Dropout, ReLU, Sequential, type Layer, type Conv2dOptions, type BatchNormGroup } from './layers.js';
export { ResNet18, type ResNet18Options } from './resnet.js';
export * as init from './init.js';
export * as F from './functional.js';
