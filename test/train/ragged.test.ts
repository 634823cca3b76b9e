// Training end to end on a ragged folder dataset (sequences [T, 6] with T 5-20, grayscale frames
// [T, 8, 8] with T 2-5, vectors [10]) with every encoder, no encoder flag needed, and the
// normalisation fitted on the training split recorded in config.json and reused by later commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../../src/data/index.js';
import { evaluateRun, trainRun } from '../../src/train/run.js';
import type { RunConfig } from '../../src/train/types.js';
import { tempDir } from '../helpers/python.js';
import { writeRaggedDataset } from '../helpers/ragged-dataset.js';

const root = writeRaggedDataset({ vector: true });
const base: Partial<RunConfig> = { data: `folder:${root}`, epochs: 3, warmup: 1, batchSize: 12, lr: 0.003, width: 4, threads: 1, seed: 1 };

describe('ragged folder datasets train end to end', () => {
  it('default encoders (seq-cnn, small-cnn per frame, mlp) with gmm-adaptive; normalisation fitted on train and recorded', async () => {
    const out = tempDir();
    const s = await trainRun({ ...base, method: 'gmm-adaptive' }, { outDir: out });
    expect(s.test.acc).toBeGreaterThan(0.5); // 3 classes; every modality carries the label
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { normalization: Record<string, { mean: number[]; std: number[] }> };
    expect(Object.keys(cfg.normalization).sort()).toEqual(['emb', 'lips', 'mfcc']);
    // the mfcc statistics are those of the training files' steps, computed here from the files
    let sum = 0, n = 0;
    for (let i = 0; i < 36; i++) {
      const a = readNpy(readFileSync(join(root, 'mfcc', `train-${i}.npy`)), 'f');
      for (let k = 0; k < a.data.length; k += 6) { sum += a.data[k] as number; n++; }
    }
    expect(cfg.normalization.mfcc!.mean[0]).toBeCloseTo(sum / n, 3);
    expect(cfg.normalization.lips!.mean).toHaveLength(1);
    // a later command uses the recorded statistics: the same test accuracy
    const e = await evaluateRun(out, 'test');
    expect(e.scores.acc).toBeCloseTo(s.test.acc, 10);
  });

  it('gru and resnet18 on frames; small-cnn on a sequence given a fixed length', async () => {
    const gru = await trainRun({ ...base, method: 'joint', epochs: 1, encoder: 'mfcc=gru,lips=resnet18' }, { outDir: tempDir() });
    expect(gru.test.acc).toBeGreaterThan(0);
    await expect(trainRun({ ...base, method: 'joint', epochs: 1, encoder: 'mfcc=small-cnn' }, { outDir: tempDir() }))
      .rejects.toThrow(/modality "mfcc" varies in length \(5 to 20 steps\) and is padded with a mask, which encoder small-cnn cannot honour/);
    const fixed = await trainRun({ ...base, method: 'joint', epochs: 1, encoder: 'mfcc=small-cnn', dataOptions: { mfcc: { length: 12, mask: false } } }, { outDir: tempDir() });
    expect(fixed.test.acc).toBeGreaterThan(0);
  });
});
