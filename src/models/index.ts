export type { ModelOutput, MultimodalModel } from './types.js';
export { SmallCNN, ImageResNet18, FrameResNet18, FrameSmallCNN, OrderedFrames, SequenceCNN, SequenceGRU, VectorMLP, type Encoder } from './encoders.js';
export { ConcatFusion, SumFusion, FiLMFusion, GatedFusion, makeFusion, FUSIONS, type Fusion, type FusionKind, type FusionOutput } from './fusion.js';
export { MultimodalClassifier, buildModel, chooseEncoders, ENCODERS, type EncoderKind, type EncoderName, type ModelConfig } from './classifier.js';
export { TorchScriptEncoder } from './torchscript.js';
