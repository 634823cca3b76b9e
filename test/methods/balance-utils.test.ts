import { describe, expect, it } from 'vitest';
import { modalityFeatures, unimodalLogits } from '../../src/methods/balance-utils.js';
import { randn } from '../../src/torch/index.js';
import type { ModelOutput } from '../../src/models/types.js';

describe('model output accessors', () => {
  const z = randn([2, 3]);
  const f = randn([2, 5]);
  const out: ModelOutput = { fused: randn([2, 3]), unimodal: { audio: z }, features: { visual: f } };

  it('return the tensor the model gave for the modality', () => {
    expect(unimodalLogits(out, 'audio', 'opm')).toBe(z);
    expect(modalityFeatures(out, 'visual', 'pmr')).toBe(f);
  });

  it('name the method and the modality when the model gave none', () => {
    expect(() => unimodalLogits(out, 'visual', 'opm')).toThrow('opm: the model gave no unimodal logits for "visual"');
    expect(() => modalityFeatures(out, 'audio', 'pmr')).toThrow('pmr: the model gave no features for "audio"');
  });
});
