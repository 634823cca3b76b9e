import { describe, expect, it } from 'vitest';
import { dataWait } from '../../src/report/write-report.js';
import type { EpochMetrics } from '../../src/train/types.js';

const epoch = (data?: EpochMetrics['data']): EpochMetrics => ({
  epoch: 1, stage: 'main', lr: 1e-3, train: { loss: 1, acc: 0.5, logs: {} }, val: { acc: 0.5, f1: 0.5, modality: {} } as unknown as EpochMetrics['val'],
  gap: null, gmm: null, method: {}, seconds: 10, ...(data && { data }),
});

describe('data wait in the report', () => {
  it('is the waits over the steps of the measured epochs, and their share of the training loops', () => {
    const w = dataWait([epoch(), epoch({ waitSeconds: 2, steps: 100, loopSeconds: 8 }), epoch({ waitSeconds: 1, steps: 50, loopSeconds: 4 })]);
    expect(w!.perStep).toBeCloseTo(3 / 150, 12);
    expect(w!.share).toBeCloseTo(3 / 12, 12);
    expect(dataWait([epoch()])).toBeNull();
  });
});
