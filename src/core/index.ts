/** Engine-free core math of mmgap: Modality Gap, 1-D GMM, subgroup posteriors, statistics. */

export { SeededRandom } from './prng.js';
export { type NumericArray } from './validate.js';
export { modalityGap, modalitySpread, sampleGaps, type ModalitySpread, type ProbabilityMatrix, type LabelArray } from './gap.js';
export { GaussianMixture, type GaussianMixtureOptions, type GmmInit } from './gmm.js';
export { type MixtureParams, type MixtureDensity, mixtureDensity, linspace } from './mixture.js';
export {
  imbalancePosterior,
  type ImbalancePosterior,
  type ImbalancePosteriorOptions,
  type GmmSpace,
} from './subgroup.js';
export { mean, variance, std, shareAbove, histogram, auroc, type Histogram, type HistogramOptions } from './stats.js';
export { confusionMatrix, accuracy, macroF1, argmaxRows } from './metrics.js';
export {
  pairedComparison,
  mcnemarExact,
  correctnessOf,
  type PairedComparison,
  type PairedComparisonOptions,
} from './compare.js';
