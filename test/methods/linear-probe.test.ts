import { describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { linearProbe } from '../../src/methods/linear-probe.js';
import { trainRun } from '../../src/train/run.js';
import type { RunConfig } from '../../src/train/types.js';
import { loadSafetensors, saveSafetensors, type Tensor } from '../../src/torch/index.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { tempDir } from '../helpers/python.js';
import { MODALITIES, epochContext, makeSplit, maxAbsDiff, predictionsOf, tinyModel } from './fixtures.js';

const stateOf = (path: string, prefix: string): Map<string, Float32Array> =>
  new Map([...loadSafetensors(path).tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k, t.float().toFloat32Array()]));

describe('linear-probe', () => {
  it('freezes the encoders every epoch; from a run directory, loads its encoders (parameters and buffers) and nothing else', async () => {
    const source = tinyModel(1);
    const dir = tempDir();
    mkdirSync(join(dir, 'checkpoints'));
    saveSafetensors(join(dir, 'checkpoints', 'best.safetensors'), Object.fromEntries([...source.stateDict()].map(([k, t]) => [`model.${k}`, t])));
    const model = tinyModel(2);
    const head = model.headParameters().map((p) => p.toFloat32Array());
    const split = makeSplit(8);
    const lines: string[] = [];
    const plan = await linearProbe.create({ from: dir }).beginEpoch?.(epochContext(model, 1, 8, () => predictionsOf(model, split), lines));
    expect(plan).toEqual({ frozenEncoders: true });
    for (const m of MODALITIES) {
      const want = new Map([...source.encoder(m).namedParameters(), ...source.encoder(m).namedBuffers()]);
      for (const [name, t] of [...model.encoder(m).namedParameters(), ...model.encoder(m).namedBuffers()]) {
        expect(maxAbsDiff(t.float().toFloat32Array(), (want.get(name) as Tensor).float().toFloat32Array()), `${m}.${name}`).toBe(0);
      }
    }
    model.headParameters().forEach((p, i) => expect(maxAbsDiff(p.toFloat32Array(), head[i] as Float32Array)).toBe(0));
    expect(lines[0]).toMatch(/probing the encoders of/);
    expect(await linearProbe.create().beginEpoch?.(epochContext(model, 1, 8, () => predictionsOf(model, split)))).toEqual({ frozenEncoders: true });
    await expect(linearProbe.create({ from: tempDir() }).beginEpoch?.(epochContext(model, 1, 8, () => predictionsOf(model, split))))
      .rejects.toThrow(/linear-probe: option from ".*" has no checkpoints\/best.safetensors; give the directory of a finished mmgap run, or warmup/);
    await expect(linearProbe.create({ from: dir }).beginEpoch?.(epochContext(tinyModel(2, 8), 1, 8, () => predictionsOf(model, split))))
      .rejects.toThrow(/is \[4, 1, 3, 3\], the model's \[8, 1, 3, 3\]: probe a run of the same data, encoder and width/);
  });

  it('a probe of a finished run trains its head only: the encoders (BatchNorm statistics included) end as that run\'s, the head moves', async () => {
    const base: Partial<RunConfig> = { data: `folder:${writeTinyDataset()}`, epochs: 2, warmup: 1, batchSize: 16, optimizer: 'adam', lr: 0.01, width: 4, threads: 1, seed: 3 };
    const joint = tempDir();
    await trainRun({ ...base, method: 'joint' }, { outDir: joint });
    const probe = tempDir();
    await trainRun({ ...base, epochs: 3, method: 'linear-probe', methodOptions: { from: joint } }, { outDir: probe });
    const before = stateOf(join(joint, 'checkpoints', 'best.safetensors'), 'model.');
    const after = stateOf(join(probe, 'checkpoints', 'last.safetensors'), 'model.');
    let encoders = 0, moved = 0;
    for (const [k, v] of before) {
      if (k.startsWith('model.encoder_')) {
        encoders++;
        expect(maxAbsDiff(after.get(k) as Float32Array, v), k).toBe(0);
      } else if (k.startsWith('model.fusion.') && maxAbsDiff(after.get(k) as Float32Array, v) > 0) moved++;
    }
    expect(encoders).toBeGreaterThan(10);
    expect(moved).toBeGreaterThan(0);
  }, 120_000);
});
