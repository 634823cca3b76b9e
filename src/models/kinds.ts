/** The encoder and fusion kinds, engine-free so that configs can be declared and validated without libtorch. */
export const ENCODERS = ['small-cnn', 'resnet18'] as const;
export type EncoderKind = (typeof ENCODERS)[number];

export const FUSIONS = ['concat', 'sum', 'film', 'gated'] as const;
export type FusionKind = (typeof FUSIONS)[number];
