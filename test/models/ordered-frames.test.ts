// Frames in order (`--encoder visual=small-cnn+gru`): per-frame CNN features read as a sequence.
// A padded sample gets the features it gets alone (masks honoured), and unlike the pooled
// per-frame CNN the features change when the frames' order does.
import { describe, expect, it } from 'vitest';
import { FrameSmallCNN, OrderedFrames, SequenceCNN, SequenceGRU, SmallCNN, buildModel, chooseEncoders } from '../../src/models/index.js';
import { parseEncoderChoice } from '../../src/models/kinds.js';
import { cat, manualSeed, noGrad, randn, tensor, zeros, type Tensor } from '../../src/torch/index.js';
import { maxAbsDiff as maxDiff } from '../helpers/compare.js';

/** Samples of `steps` frames [1, 8, 8], alone and zero-padded into one batch. */
function ragged(steps: number[]): { alone: Tensor[]; batch: Tensor; lengths: Tensor } {
  const t = Math.max(...steps);
  const alone = steps.map((n) => randn([1, n, 1, 8, 8]));
  const batch = cat(alone.map((a, i) => cat([a, zeros([1, t - (steps[i] as number), 1, 8, 8])], 1)), 0);
  return { alone, batch, lengths: tensor(BigInt64Array.from(steps, BigInt), [steps.length]) };
}

const reversed = (x: Tensor): Tensor => cat(Array.from({ length: x.shape[1] as number }, (_, i) => x.narrow(1, (x.shape[1] as number) - 1 - i, 1)), 1);

describe('ordered frames: an image encoder per frame, then a sequence encoder', () => {
  for (const [name, steps] of [['gru', (f: number) => new SequenceGRU(f, 4)], ['seq-cnn', (f: number) => new SequenceCNN(f, 4)]] as const) {
    it(`small-cnn+${name}: padded samples get their unpadded features; reversing the frames changes them`, () => noGrad(() => {
      manualSeed(3);
      const cnn = new SmallCNN(1, 4);
      const enc = new OrderedFrames(cnn, steps(cnn.featureDim)).eval();
      expect(enc.honoursMask).toBe(true);
      const { alone, batch, lengths } = ragged([3, 6, 1, 4]);
      const padded = enc.forward(batch, lengths);
      expect(padded.shape).toEqual([4, enc.featureDim]);
      alone.forEach((a, i) => expect(maxDiff(padded.select(0, i), enc.forward(a).select(0, 0))).toBeLessThan(1e-5));
      const clip = alone[1] as Tensor;
      expect(maxDiff(enc.forward(clip), enc.forward(reversed(clip)))).toBeGreaterThan(1e-3);
    }));
  }

  it('the pooled per-frame CNN is blind to order (the contrast)', () => noGrad(() => {
    manualSeed(3);
    const pooled = new FrameSmallCNN(1, 4).eval();
    const clip = randn([1, 6, 1, 8, 8]);
    expect(maxDiff(pooled.forward(clip), pooled.forward(reversed(clip)))).toBeLessThan(1e-5);
  }));

  it('is chosen as --encoder visual=small-cnn+gru, for frames only, and trains end to end', () => {
    expect(parseEncoderChoice('audio=seq-cnn,visual=small-cnn+gru')).toEqual({ fallback: 'auto', byModality: { audio: 'seq-cnn', visual: 'small-cnn+gru' } });
    expect(parseEncoderChoice('visual=small-cnn+mlp')).toMatch(/"small-cnn\+mlp" is not an encoder of frames in order \(small-cnn or resnet18 \+ seq-cnn or gru, e\.g\. small-cnn\+gru/);
    const mods = [{ name: 'audio', shape: [7, 6] }, { name: 'visual', shape: [5, 1, 8, 8], length: { steps: 5, crop: 'uniform' as const, mask: true } }];
    expect(() => chooseEncoders(mods, 'audio=small-cnn+gru')).toThrow(/modality "audio" is a sequence \[7, 6\], which encoder small-cnn\+gru does not take/);
    manualSeed(4);
    const model = buildModel(mods, 3, { encoder: 'visual=resnet18+seq-cnn', fusion: 'concat', width: 4 });
    expect(model.encoder('visual')).toBeInstanceOf(OrderedFrames);
    const v = ragged([5, 2]);
    const out = model.forward({ audio: randn([2, 7, 6]), visual: v.batch }, { visual: v.lengths });
    out.fused.sum().backward();
    const grads = model.encoder('visual').parameters().map((p) => p.grad);
    expect(grads.every((g) => g !== null)).toBe(true);
  });
});
