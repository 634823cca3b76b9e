/**
 * The Modality Gap (docs/METHOD.md §2): how much more one modality's unimodal head believes the
 * true label than another's, per sample.
 */

/** Row-major n x C class probabilities of one modality (softmax of its unimodal logits). */
export type ProbabilityMatrix = Float32Array | Float64Array;

/** Integer class labels, one per sample. */
export type LabelArray = Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array | readonly number[];

/**
 * Signed gap d_i = p^a_i[y_i] - p^v_i[y_i], in [-1, 1]: positive where audio is the more
 * confident modality on the true class.
 * @param audio row-major n x numClasses probabilities of the first modality
 * @param visual row-major n x numClasses probabilities of the second modality
 * @param labels n labels in [0, numClasses)
 */
export function modalityGap(
  audio: ProbabilityMatrix,
  visual: ProbabilityMatrix,
  labels: LabelArray,
  numClasses: number,
): Float64Array {
  const truth = trueClassProbabilities([audio, visual], labels, numClasses);
  const n = labels.length;
  const gaps = new Float64Array(n);
  for (let i = 0; i < n; i++) gaps[i] = truth[i * 2] - truth[i * 2 + 1];
  return gaps;
}

/** The M-modality form of the gap, with the modality on either end of it. */
export interface ModalitySpread {
  /** max_m p^m_i[y_i] - min_m p^m_i[y_i], in [0, 1]. */
  readonly spread: Float64Array;
  /** Index (into the `probabilities` list) of the most confident modality on the true class; ties: the lowest index. */
  readonly dominant: Int32Array;
  /** Index of the least confident modality on the true class; ties: the lowest index. */
  readonly weak: Int32Array;
}

/**
 * Gap for any number M >= 2 of modalities: the spread between the most and the least confident
 * modality on the true class, and which modalities those are.
 * @param probabilities one row-major n x numClasses matrix per modality
 */
export function modalitySpread(
  probabilities: readonly ProbabilityMatrix[],
  labels: LabelArray,
  numClasses: number,
): ModalitySpread {
  const m = probabilities.length;
  const truth = trueClassProbabilities(probabilities, labels, numClasses);
  const n = labels.length;
  const spread = new Float64Array(n);
  const dominant = new Int32Array(n);
  const weak = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let high = 0;
    let low = 0;
    for (let modality = 1; modality < m; modality++) {
      const p = truth[i * m + modality];
      if (p > truth[i * m + high]) high = modality;
      if (p < truth[i * m + low]) low = modality;
    }
    spread[i] = truth[i * m + high] - truth[i * m + low];
    dominant[i] = high;
    weak[i] = low;
  }
  return { spread, dominant, weak };
}

/**
 * p^m_i[y_i] for every sample i and modality m, row-major n x M, after checking shapes, labels
 * (integers in range) and the probabilities used (finite, within [0, 1]).
 */
function trueClassProbabilities(
  probabilities: readonly ProbabilityMatrix[],
  labels: LabelArray,
  numClasses: number,
): Float64Array {
  const m = probabilities.length;
  const n = labels.length;
  if (m < 2) throw new RangeError(`the Modality Gap needs at least 2 modalities, got ${m}`);
  if (!Number.isSafeInteger(numClasses) || numClasses < 1) {
    throw new RangeError(`numClasses must be an integer >= 1, got ${numClasses}`);
  }
  probabilities.forEach((matrix, modality) => {
    if (matrix.length !== n * numClasses) {
      throw new RangeError(
        `modality ${modality}: expected ${n} x ${numClasses} = ${n * numClasses} probabilities ` +
          `(one row per label), got ${matrix.length}`,
      );
    }
  });
  const truth = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new RangeError(`label ${label} at index ${i} is out of range [0, ${numClasses})`);
    }
    for (let modality = 0; modality < m; modality++) {
      const p = probabilities[modality][i * numClasses + label];
      if (!(p >= 0 && p <= 1)) {
        throw new RangeError(
          `modality ${modality}, sample ${i}: probability of the true class ${label} is ${p}; ` +
            'expected a value in [0, 1] (pass softmax probabilities, not logits)',
        );
      }
      truth[i * m + modality] = p;
    }
  }
  return truth;
}

/**
 * The per-sample gap in the one space every diagnostic uses: the signed d_i (first modality minus
 * second) for two modalities, the spread max_m - min_m for more.
 */
export function sampleGaps(probabilities: readonly ProbabilityMatrix[], labels: LabelArray, numClasses: number): Float64Array {
  return probabilities.length === 2
    ? modalityGap(probabilities[0] as ProbabilityMatrix, probabilities[1] as ProbabilityMatrix, labels, numClasses)
    : modalitySpread(probabilities, labels, numClasses).spread;
}
