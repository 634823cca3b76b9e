import { describe, expect, it } from 'vitest';
import { mmcosine } from '../../src/methods/mmcosine.js';
import { METHODS } from '../../src/methods/registry.js';
import { resolveConfig } from '../../src/train/config.js';
import { buildModel } from '../../src/models/classifier.js';
import { COSINE_SCALE, CosineFusion } from '../../src/models/fusion.js';
import { manualSeed, noGrad, optim, type Tensor } from '../../src/torch/index.js';
import { CLASSES, MODALITIES, batchOf, makeSplit, maxAbsDiff, stepContext, trainStep } from './fixtures.js';

function cosineModel(seed: number) {
  manualSeed(seed);
  return buildModel(MODALITIES.map((name) => ({ name, shape: [1, 16, 16] })), CLASSES, { encoder: 'small-cnn', fusion: 'cosine', width: 4 });
}

describe('mmcosine: the cosine fusion', () => {
  it('z^m_c = s cos(f_m, w^m_c) from the features and the weight rows (float64 reference), z = sum_m z^m, no bias', () => {
    const model = cosineModel(3);
    const split = makeSplit(6);
    const out = noGrad(() => model.forward(split.inputs));
    const fusion = model.fusion as CosineFusion;
    expect(fusion.parameters().length).toBe(2);
    const fused = new Float64Array(6 * CLASSES);
    MODALITIES.forEach((m, j) => {
      const f = (out.features[m] as Tensor).toFloat64Array();
      const w = (fusion.heads[j]!.weight).toFloat64Array();
      const d = (out.features[m] as Tensor).size(1);
      const norm = (a: Float64Array, at: number): number => Math.sqrt(Array.from(a.subarray(at, at + d)).reduce((s, v) => s + v * v, 0));
      const ref = new Float64Array(6 * CLASSES);
      for (let i = 0; i < 6; i++) {
        for (let c = 0; c < CLASSES; c++) {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += (f[i * d + k] as number) * (w[c * d + k] as number);
          ref[i * CLASSES + c] = COSINE_SCALE * dot / (norm(f, i * d) * norm(w, c * d));
          fused[i * CLASSES + c] = (fused[i * CLASSES + c] as number) + (ref[i * CLASSES + c] as number);
        }
      }
      expect(maxAbsDiff((out.unimodal[m] as Tensor).toFloat64Array(), ref)).toBeLessThan(1e-4);
      expect(Math.max(...Array.from(ref, Math.abs))).toBeLessThanOrEqual(COSINE_SCALE);
    });
    expect(maxAbsDiff(out.fused.toFloat64Array(), fused)).toBeLessThan(2e-4);
    // Scaling a modality's features leaves its logits unchanged: the norm route to dominance is closed.
    const scaled = noGrad(() => model.fuse({ ...out.features, audio: (out.features.audio as Tensor).mul(100) }));
    expect(maxAbsDiff((scaled.unimodal.audio as Tensor).toFloat32Array(), (out.unimodal.audio as Tensor).toFloat32Array())).toBeLessThan(1e-4);
  });

  it('a run of mmcosine uses the cosine fusion in place of the default (which presets name); another fusion is a config error', () => {
    const base = { data: 'avdigits', method: 'mmcosine' };
    expect(mmcosine.fusion).toBe('cosine');
    expect(resolveConfig(base, METHODS).fusion).toBe('cosine');
    expect(resolveConfig({ ...base, fusion: 'cosine' }, METHODS).fusion).toBe('cosine');
    expect(resolveConfig({ ...base, fusion: 'concat' }, METHODS).fusion).toBe('cosine');
    expect(() => resolveConfig({ ...base, fusion: 'sum' }, METHODS)).toThrow(/config: method mmcosine is defined on the cosine fusion, not sum; leave fusion at its default or set it to cosine/);
    expect(resolveConfig({ data: 'avdigits', method: 'joint' }, METHODS).fusion).toBe('concat');
  });

  it('trains by the fused cross-entropy: finite loss, the heads move', () => {
    const model = cosineModel(5);
    const split = makeSplit(16);
    const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const method = mmcosine.create();
    const before = (model.fusion as CosineFusion).heads[0]!.weight.toFloat32Array();
    const { loss } = trainStep(method, batchOf(split, [0, 1, 2, 3, 4, 5, 6, 7]), stepContext(model, opt as never, 0, 0));
    expect(Number.isFinite(loss)).toBe(true);
    expect(maxAbsDiff((model.fusion as CosineFusion).heads[0]!.weight.toFloat32Array(), before)).toBeGreaterThan(0);
  });
});
