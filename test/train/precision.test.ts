// Training and evaluation in bf16 (CPU autocast): the gaps and probabilities behind the GMM are
// float32 computations of the bf16 model's logits; weights and checkpoints stay float32; the
// epoch metrics say how long the gap passes took; fp16 on the CPU is refused in one line.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { autocast, cpuFlags, loadSafetensors, manualSeed, nn, noGrad, precisionSlowdown, type Tensor } from '../../src/torch/index.js';
import { createLoader, openDataset } from '../../src/data/index.js';
import { buildModel } from '../../src/models/classifier.js';
import { sampleGaps } from '../../src/core/index.js';
import { predict, toTensors } from '../../src/train/evaluate.js';
import { gapsOf } from '../../src/train/diagnostics.js';
import { trainRun } from '../../src/train/run.js';
import type { EpochMetrics, RunConfig } from '../../src/train/types.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { tempDir } from '../helpers/python.js';

const root = writeTinyDataset();
const data = `folder:${root}`;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

/** Row-wise softmax in float64 of row-major logits. */
function softmax64(z: Float32Array, c: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let r = 0; r < z.length / c; r++) {
    let mx = -Infinity, s = 0;
    for (let k = 0; k < c; k++) mx = Math.max(mx, z[r * c + k] as number);
    for (let k = 0; k < c; k++) s += out[r * c + k] = Math.exp((z[r * c + k] as number) - mx);
    for (let k = 0; k < c; k++) out[r * c + k] = (out[r * c + k] as number) / s;
  }
  return out;
}

describe('bf16 precision', () => {
  it('computes the gaps of a bf16 model in float32 from its logits', async () => {
    const dataset = await openDataset(data);
    manualSeed(1);
    const model = buildModel(dataset.modalities, dataset.classes.length, { encoder: 'small-cnn', fusion: 'concat', width: 4 });
    const loader = createLoader(dataset, 'train', { batchSize: 16, shuffle: false, train: false });
    const preds = await predict(model, loader, 'cpu', { precision: 'bf16' });
    const gaps = gapsOf(preds, dataset.modalities.map((m) => m.name));

    // The same logits, taken from the bf16 forward pass directly: their float64 softmax and gaps.
    model.eval();
    const logits: Record<string, Float32Array[]> = { audio: [], visual: [] };
    const bf16Probs: Record<string, Float32Array[]> = { audio: [], visual: [] };
    const labels: number[] = [];
    for await (const b of loader) {
      noGrad(() => {
        const out = autocast('cpu', 'bfloat16', () => model.forward(toTensors(b, 'cpu').inputs));
        for (const m of ['audio', 'visual']) {
          const z = out.unimodal[m] as Tensor;
          expect(z.dtype).toBe('bfloat16');
          (logits[m] as Float32Array[]).push(z.toFloat32Array());
          (bf16Probs[m] as Float32Array[]).push(nn.F.softmax(z, 1).toFloat32Array());
        }
      });
      labels.push(...b.labels);
    }
    await loader.close();
    const flat = (xs: Float32Array[]): Float32Array => Float32Array.from(xs.flatMap((x) => Array.from(x)));
    const c = dataset.classes.length;
    const y = Int32Array.from(labels);
    const ref = sampleGaps([softmax64(flat(logits.audio!), c), softmax64(flat(logits.visual!), c)], y, c);
    expect(maxDiff(gaps, ref)).toBeLessThan(1e-6);
    expect(maxDiff(preds.unimodal.audio!, softmax64(flat(logits.audio!), c))).toBeLessThan(1e-6);
    // Probabilities computed in bfloat16 would not pass: the check can fail.
    const viaBf16 = sampleGaps([flat(bf16Probs.audio!), flat(bf16Probs.visual!)], y, c);
    expect(maxDiff(viaBf16, ref)).toBeGreaterThan(1e-4);
  });

  it('trains with fp32 weights and checkpoints, and times the gap passes', async () => {
    const out = tempDir();
    const cfg: Partial<RunConfig> = { data, epochs: 3, warmup: 1, batchSize: 16, optimizer: 'adam', lr: 0.01, width: 4, threads: 1, seed: 3, precision: 'bf16', method: 'gmm-adaptive' };
    const s = await trainRun(cfg, { outDir: out });
    expect(s.test.acc).toBeGreaterThan(0.6);
    for (const name of ['best', 'last']) {
      const ck = loadSafetensors(join(out, 'checkpoints', `${name}.safetensors`));
      for (const [k, t] of ck.tensors) expect(['bfloat16', 'float16'], k).not.toContain(t.dtype);
      const weights = [...ck.tensors.entries()].filter(([k, t]) => k.startsWith('model.') && t.dtype !== 'int64');
      expect(weights.length).toBeGreaterThan(0);
      for (const [k, t] of weights) expect(t.dtype, k).toBe('float32');
    }
    const m = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    for (const e of m) {
      expect(e.gapSeconds).toBeGreaterThan(0);
      expect(e.gapSeconds).toBeLessThan(e.seconds);
      expect(e.amp).toBeUndefined();
    }
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).precision).toBe('bf16');
    // On a CPU without libtorch's bf16 kernels (e.g. AVX2 only) the run says so, once; elsewhere it says nothing.
    const notes = readFileSync(join(out, 'run.log'), 'utf8').split('\n').filter((l) => l.includes('note: precision bf16 on this CPU'));
    expect(notes.length).toBe(precisionSlowdown('bf16', 'cpu', cpuFlags()) === null ? 0 : 1);
  });

  it('gapSource train-pass takes the gaps from the training forward passes, without changing the training', async () => {
    const cfg: Partial<RunConfig> = { data, epochs: 2, warmup: 0, batchSize: 16, lr: 0.01, width: 4, threads: 1, seed: 4, method: 'joint' };
    const [evalDir, trainDir] = [tempDir(), tempDir()];
    const a = await trainRun({ ...cfg, gapSource: 'eval-pass' }, { outDir: evalDir });
    const b = await trainRun({ ...cfg, gapSource: 'train-pass' }, { outDir: trainDir });
    expect(b.test).toEqual(a.test);
    const read = (dir: string): EpochMetrics[] => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EpochMetrics);
    expect(read(trainDir).map((m) => m.val)).toEqual(read(evalDir).map((m) => m.val));
    const gaps = (dir: string): string[][] => readFileSync(join(dir, 'gaps', 'epoch-1.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    const [ge, gt] = [gaps(evalDir), gaps(trainDir)];
    expect(gt.map((r) => r[0])).toEqual(ge.map((r) => r[0]));
    expect(gt).toHaveLength(60);
    expect(gt.map((r) => r[2])).not.toEqual(ge.map((r) => r[2]));
    expect(readFileSync(join(trainDir, 'run.log'), 'utf8')).not.toMatch(/did not visit every training sample/);
  });

  it('refuses fp16 on the CPU in one line that names the fix', async () => {
    await expect(trainRun({ data, epochs: 1, warmup: 0, method: 'joint', precision: 'fp16', width: 4, threads: 1 }, { outDir: tempDir() }))
      .rejects.toThrow(/^precision fp16 needs a CUDA device[^\n]*Fix: use --precision bf16/);
    await expect(trainRun({ data, epochs: 1, warmup: 0, method: 'joint', precision: 'fp8' as never }, { outDir: tempDir() }))
      .rejects.toThrow(/config: field precision must be one of fp32, bf16, fp16, got "fp8"/);
  });
});
