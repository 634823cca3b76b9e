/**
 * The reference of the GMM-guided adaptive loss (docs/METHOD.md §5) in plain arithmetic: the
 * per-sample weights as pure functions and the whole loss, against which the tests check the
 * engine's implementation (adaptiveLoss in src/methods/gmm-adaptive.ts; test/methods/
 * gmm-adaptive.test.ts). The trainer does not use it, and the package does not export it:
 *
 *   L = mean_i[(1 + beta (1 - gamma_i)) CE_i]
 *     + lambdaGap   * mean_i[(1 + kappa gamma_i) gap_i]
 *     + lambdaAlign * mean_i[gamma_i ((d_i - muBal) / sigmaBal)^2]
 */

import { checkNumberInRange, finiteFloat64, type NumericArray } from './validate.js';

/** The weights of the adaptive loss (declared, with defaults and ranges, by the gmm-adaptive method). */
export interface AdaptiveLossWeights {
  /** Fusion-CE priority of balanced samples: weight 1 + beta (1 - gamma). */
  beta: number;
  /** Gap weight 1 + kappa gamma, kappa >= -1: > 0 pushes imbalanced samples harder, < 0 spares them. */
  kappa: number;
  /** Weight of the gap term. */
  lambdaGap: number;
  /** Weight of the align term. */
  lambdaAlign: number;
}

/** gamma as a Float64Array after checking every value is in [0, 1]. */
function checkedGamma(gamma: NumericArray): Float64Array {
  const values = finiteFloat64(gamma, 'gamma');
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0 || values[i] > 1) throw new RangeError(`gamma[${i}] is ${values[i]}; expected a value in [0, 1]`);
  }
  return values;
}

/** Fusion-CE weight per sample: 1 + beta (1 - gamma_i). */
export function fusionWeights(gamma: NumericArray, beta: number): Float64Array {
  checkNumberInRange(beta, 'beta', 0);
  return checkedGamma(gamma).map((g) => 1 + beta * (1 - g));
}

/** Gap-term weight per sample: 1 + kappa gamma_i (kappa >= -1, so the weight stays >= 0). */
export function gapWeights(gamma: NumericArray, kappa: number): Float64Array {
  checkNumberInRange(kappa, 'kappa', -1);
  return checkedGamma(gamma).map((g) => 1 + kappa * g);
}

/** Align-term weight per sample: gamma_i itself (a copy). */
export function alignWeights(gamma: NumericArray): Float64Array {
  return Float64Array.from(checkedGamma(gamma));
}

/** Align-term target per sample: ((d_i - muBal) / sigmaBal)^2, sigmaBal > 0. */
export function alignTargets(gaps: NumericArray, muBal: number, sigmaBal: number): Float64Array {
  checkNumberInRange(muBal, 'muBal', -Infinity);
  checkNumberInRange(sigmaBal, 'sigmaBal', Number.MIN_VALUE);
  return finiteFloat64(gaps, 'gaps').map((d) => ((d - muBal) / sigmaBal) ** 2);
}

/** Per-sample inputs of {@link adaptiveLossReference}, all of one length n >= 1. */
export interface AdaptiveLossInputs {
  /** Fused cross-entropy CE(z_i, y_i). */
  crossEntropy: NumericArray;
  /** gap_i, e.g. relu(p^dom_i[y_i] - p^weak_i[y_i]) or its log-space form. */
  gapPenalty: NumericArray;
  /** The Modality Gap d_i used by the align term. */
  gaps: NumericArray;
  /** Posterior of the imbalanced subgroup. */
  gamma: NumericArray;
}

/** The value of the adaptive loss and of its three terms (each already multiplied by its lambda). */
export interface AdaptiveLossValue {
  readonly total: number;
  readonly fusion: number;
  readonly gap: number;
  readonly align: number;
}

/**
 * Evaluates the adaptive loss in plain arithmetic: the reference for the engine's
 * implementation, which must agree with it on the same per-sample inputs.
 */
export function adaptiveLossReference(
  inputs: AdaptiveLossInputs,
  balanced: { muBal: number; sigmaBal: number },
  o: AdaptiveLossWeights,
): AdaptiveLossValue {
  for (const name of ['beta', 'lambdaGap', 'lambdaAlign'] as const) checkNumberInRange(o[name], name, 0);
  checkNumberInRange(o.kappa, 'kappa', -1);
  const n = inputs.gamma.length;
  if (n === 0) throw new RangeError('the adaptive loss needs at least one sample');
  for (const [name, values] of Object.entries(inputs) as [string, NumericArray][]) {
    if (values.length !== n) throw new RangeError(`${name} has ${values.length} values, gamma has ${n}`);
  }
  const ce = finiteFloat64(inputs.crossEntropy, 'crossEntropy');
  const gap = finiteFloat64(inputs.gapPenalty, 'gapPenalty');
  const fusionW = fusionWeights(inputs.gamma, o.beta);
  const gapW = gapWeights(inputs.gamma, o.kappa);
  const alignW = alignWeights(inputs.gamma);
  const targets = alignTargets(inputs.gaps, balanced.muBal, balanced.sigmaBal);
  let fusionSum = 0;
  let gapSum = 0;
  let alignSum = 0;
  for (let i = 0; i < n; i++) {
    fusionSum += fusionW[i] * ce[i];
    gapSum += gapW[i] * gap[i];
    alignSum += alignW[i] * targets[i];
  }
  const fusion = fusionSum / n;
  const gapTerm = (o.lambdaGap * gapSum) / n;
  const align = (o.lambdaAlign * alignSum) / n;
  return { total: fusion + gapTerm + align, fusion, gap: gapTerm, align };
}
