import { describe, expect, it } from 'vitest';
import { fitNormalization, normalizeBatch, type Batch, type ModalitySpec } from '../../src/data/index.js';

const seq: ModalitySpec = { name: 's', shape: [3, 2], augmented: false, length: { steps: 3, crop: 'centre', mask: true } };
const img: ModalitySpec = { name: 'i', shape: [2, 1, 2], augmented: false };

/** Two samples: s has 2 and 3 valid steps of 2 features; i is a 2-channel 1x2 image. */
function batch(): Batch {
  return {
    ids: ['a', 'b'], labels: Int32Array.of(0, 1), index: Int32Array.of(0, 1), corrupted: new Uint8Array(2), size: 2,
    inputs: {
      s: { data: Float32Array.of(1, 10, 3, 30, 0, 0, /* b */ 5, 50, 7, 70, 9, 90), shape: [2, 3, 2], lengths: Int32Array.of(2, 3), masked: true },
      i: { data: Float32Array.of(1, 3, 10, 10, /* b */ 5, 7, 10, 10), shape: [2, 2, 1, 2] },
    },
  };
}

async function* once(b: Batch): AsyncIterable<Batch> { yield b; }

describe('normalization fitted on the training split', () => {
  it('per feature over the valid steps (sequences) and per channel (images), population std', async () => {
    const norm = await fitNormalization(once(batch()), [seq, img]);
    // s feature 0 over valid steps: 1, 3, 5, 7, 9 (the padded step is left out)
    expect(norm.s!.mean[0]).toBeCloseTo(5, 12);
    expect(norm.s!.std[0]).toBeCloseTo(Math.sqrt(8), 12);
    expect(norm.s!.mean[1]).toBeCloseTo(50, 12);
    expect(norm.i!.mean).toEqual([4, 10]);
    expect(norm.i!.std[0]).toBeCloseTo(Math.sqrt(5), 12);
    expect(norm.i!.std[1]).toBe(0);

    const b = batch();
    normalizeBatch(b, [seq, img], norm);
    const s = b.inputs.s!.data;
    expect(s[0]).toBeCloseTo(-4 / Math.sqrt(8), 6);
    expect(s[1]).toBeCloseTo(-40 / Math.sqrt(800), 6);
    expect([s[4], s[5]]).toEqual([0, 0]); // padding stays zero
    // a constant channel is centred, not divided by zero
    expect([...b.inputs.i!.data.subarray(2, 4)]).toEqual([0, 0]);
  });

  it('refuses statistics of another feature count', () => {
    expect(() => normalizeBatch(batch(), [seq], { s: { mean: [0, 0, 0], std: [1, 1, 1] } }))
      .toThrow('normalization of "s" has 3 features, the data has 2; the run\'s dataset changed since it was fitted');
  });
});
