// The model contract: fused and unimodal logits of every fusion, checked against their
// definitions (docs/METHOD.md §1) computed independently from the layer weights.
import { describe, expect, it } from 'vitest';
import { randn, manualSeed, zeros, noGrad, type Tensor } from '../../src/torch/index.js';
import { ConcatFusion, SumFusion, FiLMFusion, GatedFusion, MMTMFusion } from '../../src/models/fusion.js';
import { buildModel, FrameResNet18 } from '../../src/models/index.js';
import { maxAbsDiff as maxDiff } from '../helpers/compare.js';


describe('fusions', () => {
  manualSeed(5);
  const fa = randn([4, 6]), fv = randn([4, 3]);
  const features = { audio: fa, visual: fv };

  it('concat: z^m uses its own slice of W and half the bias; the two sum to the fused logits', () => noGrad(() => {
    const f = new ConcatFusion(['audio', 'visual'], [6, 3], 5);
    const out = f.forward(features);
    const w = f.head.weight, b = f.head.bias as Tensor;
    const za = fa.matmul(w.narrow(1, 0, 6).t()).add(b.div(2));
    const zv = fv.matmul(w.narrow(1, 6, 3).t()).add(b.div(2));
    expect(maxDiff(out.unimodal.audio as Tensor, za)).toBeLessThan(1e-6);
    expect(maxDiff(out.unimodal.visual as Tensor, zv)).toBeLessThan(1e-6);
    expect(maxDiff(out.fused, za.add(zv))).toBeLessThan(1e-6);
    // The swapped pairing (the OGM-GE code's) would differ: the test can tell.
    expect(maxDiff(out.unimodal.audio as Tensor, fa.narrow(1, 0, 3).matmul(w.narrow(1, 6, 3).t()).add(b.div(2)))).toBeGreaterThan(1e-3);
  }));

  it('sum: each branch has its own head and the fused logits are their sum', () => noGrad(() => {
    const f = new SumFusion(['audio', 'visual'], [6, 3], 5);
    const out = f.forward(features);
    expect(maxDiff(out.fused, (out.unimodal.audio as Tensor).add(out.unimodal.visual as Tensor))).toBeLessThan(1e-6);
    const [ha] = f.heads;
    expect(maxDiff(out.unimodal.audio as Tensor, ha!.forward(fa))).toBeLessThan(1e-6);
  }));

  for (const [name, make] of [['film', () => new FiLMFusion(['audio', 'visual'], [6, 3], 5)], ['gated', () => new GatedFusion(['audio', 'visual'], [6, 3], 5)],
    ['mmtm', () => new MMTMFusion(['audio', 'visual'], [6, 3], 5)]] as const) {
    it(`${name}: z^m is the fused head with the other modality's features zeroed`, () => noGrad(() => {
      const f = make();
      const out = f.forward(features);
      expect(maxDiff(out.unimodal.audio as Tensor, f.forward({ audio: fa, visual: zeros([4, 3]) }).fused)).toBeLessThan(1e-6);
      expect(maxDiff(out.unimodal.visual as Tensor, f.forward({ audio: zeros([4, 6]), visual: fv }).fused)).toBeLessThan(1e-6);
      expect(out.fused.shape).toEqual([4, 5]);
      // Non-linear: the fused logits are not the sum of the unimodal ones.
      expect(maxDiff(out.fused, (out.unimodal.audio as Tensor).add(out.unimodal.visual as Tensor))).toBeGreaterThan(1e-4);
    }));
  }

  it('every fusion takes three modalities and names a missing one', () => noGrad(() => {
    const three = { audio: fa, visual: fv, text: randn([4, 2]) };
    for (const F of [ConcatFusion, SumFusion, FiLMFusion, GatedFusion, MMTMFusion]) {
      const out = new F(['audio', 'visual', 'text'], [6, 3, 2], 5).forward(three);
      expect(Object.keys(out.unimodal)).toEqual(['audio', 'visual', 'text']);
      expect(() => new F(['audio', 'visual', 'text'], [6, 3, 2], 5).forward(features)).toThrow(/no features for modality "text"/);
    }
    expect(() => new ConcatFusion(['audio'], [6], 5)).toThrow(/at least 2 modalities/);
  }));
});

describe('encoders and the classifier', () => {
  it('FrameResNet18 averages the per-frame features over time', () => noGrad(() => {
    manualSeed(1);
    const enc = new FrameResNet18(3).eval();
    const x = randn([2, 3, 3, 32, 32]);
    const f = enc.forward(x);
    expect(f.shape).toEqual([2, 512]);
    const perFrame = enc.net.forward(x.reshape([6, 3, 32, 32])).reshape([2, 3, 512]).mean(1);
    expect(maxDiff(f, perFrame)).toBeLessThan(1e-5);
  }));

  it('builds per-modality encoders from the dataset shapes and returns the contract', () => noGrad(() => {
    const model = buildModel([{ name: 'audio', shape: [1, 16, 16] }, { name: 'visual', shape: [1, 12, 12] }], 4, { encoder: 'small-cnn', fusion: 'concat', width: 4 });
    const out = model.forward({ audio: randn([3, 1, 16, 16]), visual: randn([3, 1, 12, 12]) });
    expect(out.fused.shape).toEqual([3, 4]);
    expect(out.unimodal.audio?.shape).toEqual([3, 4]);
    expect(out.features.visual?.shape).toEqual([3, model.encoder('visual').featureDim]);
    expect(() => model.forward({ audio: randn([3, 1, 16, 16]) })).toThrow(/model input has no "visual"/);
    expect(() => buildModel([{ name: 'visual', shape: [8, 6] }, { name: 'audio', shape: [1, 8, 8] }], 2, { encoder: 'resnet18', fusion: 'concat', width: 4 }))
      .toThrow('modality "visual" is a sequence [8, 6], which encoder resnet18 does not take; choose one of seq-cnn, gru, small-cnn for it, e.g. --encoder visual=seq-cnn');
  }));
});
