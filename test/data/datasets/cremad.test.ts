import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cremadSpectrogram } from '../../../src/data/audio/recipes.js';
import { decodeWav } from '../../../src/data/audio/wav.js';
import { DataError } from '../../../src/data/errors.js';
import { createLoader } from '../../../src/data/loader.js';
import { openDataset } from '../../../src/data/open.js';
import { cremadFixture, put } from '../helpers/fixtures.js';

const opts = { imageSize: 32, valFraction: 0.5 };

describe('cremad', () => {
  it('reads the community layout: labels, splits (val carved from train), shapes, features', async () => {
    const { root, train, test } = cremadFixture();
    const ds = await openDataset(`cremad:${root}`, opts);
    expect(ds.classes).toEqual(['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG']);
    expect(ds.samples('test').map((s) => s.id)).toEqual(test);
    expect(ds.samples('test').map((s) => s.label)).toEqual([5, 0, 2]);
    // one of the two clips of each class goes to val
    expect(ds.samples('val')).toHaveLength(6);
    expect(ds.samples('train')).toHaveLength(6);
    expect(new Set(ds.samples('val').map((s) => s.label)).size).toBe(6);
    expect([...ds.samples('train'), ...ds.samples('val')].map((s) => s.id).sort()).toEqual([...train].sort());
    expect(ds.modalities).toEqual([
      { name: 'audio', shape: [1, 257, 188], augmented: false },
      { name: 'visual', shape: [2, 3, 32, 32], augmented: true },
    ]);
    const s = ds.samples('test')[0];
    const f = await ds.load(s, { train: false, seed: 0, epoch: 0 });
    const wavFile = join(root, 'AudioWAV', `${s.id}.wav`);
    const wav = decodeWav(readFileSync(wavFile), wavFile);
    expect(f.audio).toEqual(cremadSpectrogram(wav.channels[0], wav.sampleRate));
    expect(f.visual).toHaveLength(2 * 3 * 32 * 32);
    // eval is deterministic; training draws frames and crops from (seed, epoch, id)
    expect(await ds.load(s, { train: false, seed: 5, epoch: 3 })).toEqual(f);
    const t1 = await ds.load(s, { train: true, seed: 1, epoch: 0 });
    expect(await ds.load(s, { train: true, seed: 1, epoch: 0 })).toEqual(t1);
    expect((await ds.load(s, { train: true, seed: 1, epoch: 1 })).visual).not.toEqual(t1.visual);
  });

  it('an unknown label names the split file and line', async () => {
    const { root } = cremadFixture();
    appendFileSync(join(root, 'train.csv'), '1099_IEO_XYZ_XX,XYZ\n');
    const err = await openDataset(`cremad:${root}`, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toBe(
      `${join(root, 'train.csv')}:13: unknown label "XYZ" (known: NEU, HAP, SAD, FEA, DIS, ANG); fix the data or pass --skip-bad-samples`,
    );
  });

  it('a split file naming a missing id, or a missing frame folder, names the file and line; skipBadSamples skips and reports', async () => {
    const { root, train, test } = cremadFixture();
    appendFileSync(join(root, 'test.csv'), '9999_NOPE_ANG_XX,ANG\n');
    rmSync(join(root, 'Image-01-FPS', train[2]), { recursive: true });
    await expect(openDataset(`cremad:${root}`, opts)).rejects.toThrow(
      new RegExp(`train\\.csv:3: "${train[2]}": frame folder .*Image-01-FPS/${train[2]} is missing`),
    );
    writeFileSync(join(root, 'train.csv'), readFileSync(join(root, 'train.csv'), 'utf8').replace(`${train[2]},SAD\n`, ''));
    await expect(openDataset(`cremad:${root}`, opts)).rejects.toThrow(/test\.csv:4: "9999_NOPE_ANG_XX": audio file .*AudioWAV\/9999_NOPE_ANG_XX\.wav is missing/);

    const ds = await openDataset(`cremad:${root}`, { ...opts, skipBadSamples: true });
    expect(ds.samples('test').map((s) => s.id)).toEqual(test);
    expect(ds.skipped).toEqual([
      { id: '9999_NOPE_ANG_XX', split: 'test', file: join(root, 'test.csv'), line: 4, reason: expect.stringMatching(/audio file .* is missing/) },
    ]);
    const loader = createLoader(ds, 'test', { batchSize: 8 });
    expect(loader.skipped).toHaveLength(1);
  });

  it('a truncated wav and a corrupt jpg fail at load time naming the file; the loader skips them only when asked', async () => {
    const { root, test } = cremadFixture();
    const wav = join(root, 'AudioWAV', `${test[1]}.wav`);
    writeFileSync(wav, readFileSync(wav).subarray(0, 1000));
    const frame = join(root, 'Image-01-FPS', test[2], '00003.jpg');
    put(frame, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3, 4, 5, 6, 7, 8]));
    const ds = await openDataset(`cremad:${root}`, { ...opts, frames: 4 });
    await expect(ds.load(ds.samples('test')[1], { train: false, seed: 0, epoch: 0 })).rejects.toThrow(`${wav}: truncated WAV`);
    await expect(ds.load(ds.samples('test')[2], { train: false, seed: 0, epoch: 0 })).rejects.toThrow(`${frame}: corrupt image`);

    await expect(async () => {
      for await (const _ of createLoader(ds, 'test', { batchSize: 3 })) void _;
    }).rejects.toThrow(/truncated WAV/);

    const loader = createLoader(ds, 'test', { batchSize: 3, skipBadSamples: true });
    const batches = [];
    for await (const b of loader) batches.push(b);
    expect(batches).toHaveLength(1);
    expect(batches[0].ids).toEqual([test[0]]);
    expect(batches[0].inputs.visual.shape).toEqual([1, 4, 3, 32, 32]);
    expect(loader.skipped.map((s) => [s.id, s.file])).toEqual([
      [test[1], wav],
      [test[2], frame],
    ]);
  });
});
