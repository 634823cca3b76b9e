/** The activation estimate of `mmgap data inspect`, against the encoders' first layers by hand and as built. */
import { describe, expect, it } from 'vitest';
import { estimateActivations, KEPT_PER_LAYER } from '../../src/models/activation-estimate.js';

describe('estimateActivations', () => {
  it('frames through the per-frame small CNN: batch x padded frames x width x H x W, fp32, x KEPT_PER_LAYER (the issue\'s lip-reading case)', () => {
    const [lips] = estimateActivations([{ name: 'lips', shape: [40, 1, 60, 80] }], { batchSize: 64, encoder: 'auto', width: 16 });
    expect(lips).toEqual({ encoder: 'small-cnn', shape: [64, 40, 16, 60, 80], axes: 'batch x frames x channels x H x W', layerBytes: 64 * 40 * 16 * 60 * 80 * 4, bytes: KEPT_PER_LAYER * 786_432_000 });
    expect(lips!.bytes / 1e9).toBeCloseTo(3.1, 1);
  });

  it('follows the encoder setting, the width and ResNet18\'s stride-2 first convolution', () => {
    const mods = [{ name: 'audio', shape: [79, 26] }, { name: 'visual', shape: [3, 224, 224] }, { name: 'emb', shape: [10] }];
    const auto = estimateActivations(mods, { batchSize: 8, encoder: 'auto', width: 16 });
    expect(auto.map((a) => [a.encoder, a.shape])).toEqual([['seq-cnn', [8, 79, 64]], ['small-cnn', [8, 16, 224, 224]], ['mlp', [8, 128]]]);
    const other = estimateActivations(mods, { batchSize: 8, encoder: 'audio=small-cnn,visual=resnet18', width: 32 });
    expect(other.map((a) => [a.encoder, a.shape])).toEqual([['small-cnn', [8, 32, 79, 26]], ['resnet18', [8, 64, 112, 112]], ['mlp', [8, 256]]]);
    expect(() => estimateActivations(mods, { batchSize: 8, encoder: 'emb=gru', width: 16 })).toThrow(/encoder gru does not take/);
  });
});

describe('estimateActivations against the encoders as built', () => {
  it('its channels are the out-channels of each encoder\'s first layer (its first parameter)', async () => {
    const { buildModel } = await import('../../src/models/index.js');
    const mods = [{ name: 'seq', shape: [9, 6] }, { name: 'img', shape: [3, 16, 16] }, { name: 'vid', shape: [4, 1, 8, 8] }, { name: 'vec', shape: [10] }];
    for (const encoder of ['auto', 'img=resnet18,vid=resnet18,seq=small-cnn']) {
      const model = buildModel(mods, 3, { encoder, fusion: 'concat', width: 8 });
      const est = estimateActivations(mods, { batchSize: 2, encoder, width: 8 });
      mods.forEach((m, i) => {
        const first = model.encoder(m.name).parameters()[0]!;
        const a = est[i]!;
        const channelAxis = a.axes.split(' x ').findIndex((x) => x === 'channels' || x === 'units');
        expect(a.shape[channelAxis], `${encoder}: ${m.name}`).toBe(first.shape[0]);
      });
    }
  });
});
