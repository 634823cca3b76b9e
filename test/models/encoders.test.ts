// Encoders per modality kind: padding under a mask changes nothing (a sample in a padded batch
// gets the features it gets alone), masks change nothing when every sample has the same length,
// and the GRU layer equals torch.nn.GRU on the same weights (float32, 1e-5 absolute).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FrameResNet18, FrameSmallCNN, SequenceCNN, SequenceGRU, VectorMLP, buildModel, type Encoder } from '../../src/models/index.js';
import { cat, loadSafetensors, manualSeed, nn, noGrad, randn, saveSafetensors, tensor, zeros, type Tensor } from '../../src/torch/index.js';
import { maxAbsDiff as maxDiff } from '../helpers/compare.js';
import { runPython, tempDir } from '../helpers/python.js';


/** Samples of `steps` lengths with per-step shape `rest`, alone and zero-padded into one batch. */
function ragged(steps: number[], rest: number[]): { alone: Tensor[]; batch: Tensor; lengths: Tensor } {
  const t = Math.max(...steps);
  const alone = steps.map((n) => randn([1, n, ...rest]));
  const batch = cat(alone.map((a, i) => cat([a, zeros([1, t - (steps[i] as number), ...rest])], 1)), 0);
  return { alone, batch, lengths: tensor(BigInt64Array.from(steps, BigInt), [steps.length]) };
}

const MASKED: [string, () => Encoder, number[]][] = [
  ['seq-cnn', () => new SequenceCNN(6, 4), [6]],
  ['gru', () => new SequenceGRU(6, 4), [6]],
  ['small-cnn on frames', () => new FrameSmallCNN(1, 4), [1, 8, 8]],
  ['resnet18 on frames', () => new FrameResNet18(1), [1, 16, 16]],
];

describe('encoders honour masks', () => {
  for (const [name, make, rest] of MASKED) {
    it(`${name}: a padded sample gets its unpadded features; full lengths equal no mask`, () => noGrad(() => {
      manualSeed(2);
      const enc = make().eval();
      expect(enc.honoursMask).toBe(true);
      const { alone, batch, lengths } = ragged([3, 7, 1, 5], rest);
      const padded = enc.forward(batch, lengths);
      alone.forEach((a, i) => expect(maxDiff(padded.select(0, i), enc.forward(a).select(0, 0))).toBeLessThan(1e-5));
      const same = randn([3, 4, ...rest]);
      expect(maxDiff(enc.forward(same), enc.forward(same, tensor(BigInt64Array.of(4n, 4n, 4n), [3])))).toBe(0);
    }));
  }

  it('an MLP encodes vectors; features have the declared size', () => noGrad(() => {
    const mlp = new VectorMLP(10, 4).eval();
    expect(mlp.forward(randn([5, 10])).shape).toEqual([5, mlp.featureDim]);
  }));

  it('the model hands each masked modality its lengths and keeps the contract', () => noGrad(() => {
    manualSeed(5);
    const model = buildModel([
      { name: 'audio', shape: [7, 6], length: { steps: 7, crop: 'random', mask: true }, lengths: { min: 1, median: 4, max: 7 } },
      { name: 'visual', shape: [5, 1, 8, 8], length: { steps: 5, crop: 'random', mask: true } },
      { name: 'meta', shape: [10] },
    ], 3, { encoder: 'auto', fusion: 'concat', width: 4 }).eval();
    const a = ragged([3, 7], [6]);
    const v = ragged([5, 2], [1, 8, 8]);
    const out = model.forward({ audio: a.batch, visual: v.batch, meta: randn([2, 10]) }, { audio: a.lengths, visual: v.lengths });
    expect(out.fused.shape).toEqual([2, 3]);
    expect(Object.keys(out.unimodal)).toEqual(['audio', 'visual', 'meta']);
    expect(model.encoder('audio')).toBeInstanceOf(SequenceCNN);
    expect(model.encoder('visual')).toBeInstanceOf(FrameSmallCNN);
    expect(model.encoder('meta')).toBeInstanceOf(VectorMLP);
    const alone = model.encoder('audio').forward(a.alone[0] as Tensor);
    expect(maxDiff(out.features.audio!.select(0, 0), alone.select(0, 0))).toBeLessThan(1e-5);
  }));

  it('a masked modality needs a mask-aware encoder; per-modality choices are checked', () => {
    const audio = { name: 'audio', shape: [7, 6], length: { steps: 7, crop: 'random' as const, mask: true }, lengths: { min: 2, median: 4, max: 7 } };
    const visual = { name: 'visual', shape: [1, 8, 8] };
    expect(() => buildModel([audio, visual], 2, { encoder: 'audio=small-cnn', fusion: 'concat', width: 4 })).toThrow(
      'modality "audio" varies in length (2 to 7 steps) and is padded with a mask, which encoder small-cnn cannot honour: give it a fixed length ' +
      '(--data-opt audio.length=4 --data-opt audio.mask=false) or a mask-aware encoder (--encoder audio=seq-cnn)');
    expect(() => buildModel([{ ...audio, length: { ...audio.length, mask: false } }, visual], 2, { encoder: 'audio=small-cnn', fusion: 'concat', width: 4 })).not.toThrow();
    expect(() => buildModel([audio, visual], 2, { encoder: 'audio=gru,video=small-cnn', fusion: 'concat', width: 4 }))
      .toThrow('--encoder names modality "video", which the dataset does not have (it has audio, visual)');
    expect(() => buildModel([audio, visual], 2, { encoder: 'mlp', fusion: 'concat', width: 4 }))
      .toThrow('modality "audio" is a sequence [7, 6], which encoder mlp does not take; choose one of seq-cnn, gru, small-cnn for it, e.g. --encoder audio=seq-cnn');
  });
});

const GRU_REFERENCE = `
import sys, torch
from st import load, save
d = sys.argv[1]
w = load(d + '/weights.st'); x = load(d + '/in.st')['x'].clone().requires_grad_(True)
g = torch.nn.GRU(5, 3, num_layers=2, batch_first=True)
g.load_state_dict(w)
out, _ = g(x)
out.pow(2).sum().backward()
save(d + '/out.st', {'out': out, 'x_grad': x.grad, **{'grad.' + n: p.grad for n, p in g.named_parameters()}})
`;

describe('GRU matches torch.nn.GRU', () => {
  it('outputs and gradients, two layers, batch first', () => {
    manualSeed(7);
    const gru = new nn.GRU(5, 3, 2);
    expect([...gru.namedParameters()].map(([n]) => n)).toEqual(
      ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'bias_ih_l1', 'bias_hh_l1']);
    const x = randn([2, 4, 5]);
    const dir = tempDir();
    saveSafetensors(join(dir, 'weights.st'), gru.stateDict());
    saveSafetensors(join(dir, 'in.st'), { x });
    runPython(GRU_REFERENCE, [dir]);
    const ref = loadSafetensors(join(dir, 'out.st')).tensors;
    const xg = x.clone().requiresGrad_();
    const out = gru.forward(xg);
    out.pow(2).sum().backward();
    expect(maxDiff(out, ref.get('out')!)).toBeLessThan(1e-5);
    expect(maxDiff(xg.grad!, ref.get('x_grad')!)).toBeLessThan(1e-5);
    for (const [n, p] of gru.namedParameters()) expect(maxDiff(p.grad!, ref.get(`grad.${n}`)!)).toBeLessThan(1e-5);
  });
});
