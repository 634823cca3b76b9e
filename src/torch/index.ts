/** mmgap's engine: libtorch tensors, autograd, nn and optimizers from TypeScript. */
export { Tensor, tensor, zeros, ones, full, randn, rand, randint, arange, randperm, cat, stack, where, type TensorOptions, type Device } from './tensor.js';
export type { DType, MemoryFormat } from './dtype.js';
export { tidy, keep } from './scope.js';
export { autocast, autocastState, withPrecision, checkPrecision, precisionProblem, precisionSlowdown, cpuFlags, autocastDevice, GradScaler, GRAD_SCALER_DEFAULTS, PRECISIONS,
  type Precision, type AutocastDevice, type AutocastOptions, type GradScalerOptions } from './amp.js';
export { noGrad, inferenceMode, isGradEnabled, backward, grad } from './autograd.js';
export { resolveDevice, cudaAvailable, setNumThreads, getNumThreads, manualSeed, liveTensors, libtorchVersion } from './device.js';
export { cpuAllocator, memoryStats, emptyCache, resetPeakStats, setMemoryLimit, parseMemoryLimit, isOutOfMemoryError, MEMORY_LIMIT_ENV, type MemoryStats } from './memory.js';
export { saveSafetensors, loadSafetensors, type Safetensors } from './serialize.js';
export { ScriptModule } from './jit.js';
export * as ops from './ops.generated.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
