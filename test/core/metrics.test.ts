import { describe, expect, it } from 'vitest';
import { accuracy, argmaxRows, confusionMatrix, macroF1 } from '../../src/core/index.js';

describe('classification metrics', () => {
  it('argmaxRows: the predicted class per row, the lowest on ties, and a shape check', () => {
    expect(Array.from(argmaxRows(new Float32Array([0.1, 0.7, 0.2, 0.5, 0.5, 0, 0, 0, 1]), 3))).toEqual([1, 0, 2]);
    expect(() => argmaxRows(new Float64Array(5), 3)).toThrow(/5 scores do not fill rows of 3/);
  });

  const yTrue = [0, 0, 1, 1, 2, 2];
  const yPred = [0, 1, 1, 1, 2, 0];

  it('builds the confusion matrix with true classes as rows', () => {
    expect(Array.from(confusionMatrix(yTrue, yPred, 3))).toEqual([1, 1, 0, 0, 2, 0, 1, 0, 1]);
  });

  it('computes accuracy', () => {
    expect(accuracy(yTrue, yPred)).toBe(4 / 6);
    expect(accuracy([], [])).toBeNaN();
  });

  it('computes macro-F1 over the classes present (hand-worked, 1e-12)', () => {
    // F1: class 0: 2*1/(2+2) = 1/2; class 1: 2*2/(2+3) = 4/5; class 2: 2*1/(2+1) = 2/3
    expect(Math.abs(macroF1(yTrue, yPred, 3) - (1 / 2 + 4 / 5 + 2 / 3) / 3)).toBeLessThan(1e-12);
    // class 3 never occurs: it is left out, as in scikit-learn
    expect(Math.abs(macroF1(yTrue, yPred, 4) - (1 / 2 + 4 / 5 + 2 / 3) / 3)).toBeLessThan(1e-12);
    expect(macroF1([], [], 2)).toBeNaN();
  });

  it('names bad labels and mismatched lengths', () => {
    expect(() => confusionMatrix([0, 5], [0, 1], 3)).toThrow('yTrue: label 5 at index 1 is out of range [0, 3)');
    expect(() => macroF1([0, 1], [0, -1], 3)).toThrow('yPred: label -1 at index 1');
    expect(() => accuracy([0], [0, 1])).toThrow(/differ in length/);
  });
});
