/**
 * Pinned host memory and asynchronous host-to-device copies for loader batches: on CUDA the
 * trainer's batches go through pinned memory with non_blocking copies; on the CPU nothing is
 * pinned, and pinning without CUDA is a clear error (libtorch's own is a dispatcher dump).
 */
import { describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/types.js';
import { cudaAvailable, tensor } from '../../src/torch/index.js';
import { toTensors } from '../../src/train/evaluate.js';

const batch: Batch = {
  ids: ['a', 'b'],
  labels: Int32Array.of(1, 0),
  index: Int32Array.of(4, 7),
  inputs: {
    visual: { data: Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7), shape: [2, 3, 4] },
    audio: { data: Float32Array.from({ length: 2 * 5 * 2 }, (_, i) => -i), shape: [2, 5, 2], lengths: Int32Array.of(5, 3), masked: true },
  },
  corrupted: Uint8Array.of(0, 0),
  size: 2,
};

describe('pinned batches', () => {
  it('on the CPU, a batch\'s tensors are the plain host tensors: nothing pinned, the same values', () => {
    const tb = toTensors(batch, 'cpu');
    for (const t of [tb.inputs.visual, tb.inputs.audio, tb.lengths.audio, tb.labels]) {
      expect(t.device).toBe('cpu');
      expect(t.isPinned).toBe(false);
    }
    expect(Array.from(tb.inputs.visual.toFloat32Array())).toEqual(Array.from(batch.inputs.visual.data));
    expect(tb.labels.dtype).toBe('int64');
    expect(tb.labels.toArray()).toEqual([1, 0]);
    expect(tb.lengths.audio.toArray()).toEqual([5, 3]);
  });

  it('to(..., { nonBlocking }) is an ordinary copy on the CPU (or the tensor itself when nothing changes)', () => {
    const t = tensor([1.5, 2.5]);
    expect(t.to('cpu', { nonBlocking: true })).toBe(t);
    expect(t.to('float64', { nonBlocking: true }).toArray()).toEqual([1.5, 2.5]);
  });

  it.skipIf(cudaAvailable())('pinMemory without CUDA is a one-line error saying to pin only for cuda', () => {
    const t = tensor([1, 2, 3]);
    expect(t.isPinned).toBe(false);
    expect(() => t.pinMemory()).toThrow(/^pinMemory\(\): pinned host memory needs CUDA, and this libtorch \(.+\) has none or sees no GPU; pin only when the device is cuda$/);
  });

  it.runIf(cudaAvailable())('with CUDA: pinMemory pins, and a batch lands on the GPU with its values', () => {
    const t = tensor([1, 2, 3]);
    expect(t.pinMemory().isPinned).toBe(true);
    const tb = toTensors(batch, 'cuda');
    expect(tb.inputs.visual.device).toBe('cuda:0');
    expect(Array.from(tb.inputs.visual.toFloat32Array())).toEqual(Array.from(batch.inputs.visual.data));
    expect(tb.labels.toArray()).toEqual([1, 0]);
  });
});
