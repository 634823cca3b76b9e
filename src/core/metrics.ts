/** Classification metrics on integer labels: confusion matrix, accuracy, macro-F1. */

import type { LabelArray } from './gap.js';

/** Checks equal lengths and labels in [0, numClasses), naming the first bad index. */
function checkLabelPairs(yTrue: LabelArray, yPred: LabelArray, numClasses: number): void {
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be an integer >= 1, got ${numClasses}`);
  }
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`yTrue and yPred differ in length: ${yTrue.length} vs ${yPred.length}`);
  }
  for (const [name, labels] of [['yTrue', yTrue], ['yPred', yPred]] as const) {
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i];
      if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
        throw new RangeError(`${name}: label ${label} at index ${i} is out of range [0, ${numClasses})`);
      }
    }
  }
}

/** Row-major numClasses x numClasses counts: entry [t * numClasses + p] counts true class t predicted as p. */
export function confusionMatrix(yTrue: LabelArray, yPred: LabelArray, numClasses: number): Uint32Array {
  checkLabelPairs(yTrue, yPred, numClasses);
  const matrix = new Uint32Array(numClasses * numClasses);
  for (let i = 0; i < yTrue.length; i++) matrix[yTrue[i] * numClasses + yPred[i]]++;
  return matrix;
}

/** The predicted class of each row of a row-major [n x numClasses] score matrix (ties: the lowest class). */
export function argmaxRows(scores: Float32Array | Float64Array, numClasses: number): Int32Array {
  const n = scores.length / numClasses;
  if (!Number.isInteger(n)) throw new RangeError(`${scores.length} scores do not fill rows of ${numClasses}`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (scores[i * numClasses + c] > scores[i * numClasses + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Fraction of exact matches; NaN for empty inputs. */
export function accuracy(yTrue: LabelArray, yPred: LabelArray): number {
  if (yTrue.length !== yPred.length) {
    throw new RangeError(`yTrue and yPred differ in length: ${yTrue.length} vs ${yPred.length}`);
  }
  if (yTrue.length === 0) return NaN;
  let correct = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) correct++;
  return correct / yTrue.length;
}

/**
 * Unweighted mean of the per-class F1 = 2 TP / (2 TP + FP + FN) over the classes that occur in
 * yTrue or yPred (scikit-learn's f1_score(average='macro') with its default labels); NaN for
 * empty inputs.
 */
export function macroF1(yTrue: LabelArray, yPred: LabelArray, numClasses: number): number {
  const matrix = confusionMatrix(yTrue, yPred, numClasses);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < numClasses; c++) {
    const truePositives = matrix[c * numClasses + c];
    let actual = 0;
    let predicted = 0;
    for (let other = 0; other < numClasses; other++) {
      actual += matrix[c * numClasses + other];
      predicted += matrix[other * numClasses + c];
    }
    if (actual + predicted === 0) continue;
    sum += (2 * truePositives) / (actual + predicted);
    present++;
  }
  return present === 0 ? NaN : sum / present;
}
