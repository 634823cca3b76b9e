import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLoader, describeDataset, openDataset, writeNpy } from '../../../src/data/index.js';
import { readNpy } from '../../../src/data/io/npy.js';
import { writeRaggedDataset } from '../../helpers/ragged-dataset.js';
import { collect, put, tempDir } from '../helpers/fixtures.js';

/** Two modalities of the given stored shapes per sample (ids a, b, c; all train). */
function twoModalities(shapes: Record<string, number[][]>, fill: (m: string, i: number, k: number) => number = (_, i, k) => i * 100 + k): string {
  const root = tempDir('stored');
  put(join(root, 'manifest.csv'), 'id,label,split\na,x,train\nb,y,train\nc,x,train\n');
  for (const [m, list] of Object.entries(shapes)) {
    list.forEach((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      put(join(root, m, `${'abc'[i]}.npy`), writeNpy(Float32Array.from({ length: n }, (_, k) => fill(m, i, k)), shape));
    });
  }
  return root;
}

describe('stored arrays in the folder format', () => {
  it('reads each kind off the arrays, with every sample\'s length', async () => {
    const root = writeRaggedDataset({ vector: true });
    const ds = await openDataset(`folder:${root}`);
    const r = describeDataset(ds);
    const byName = Object.fromEntries(r.modalities.map((m) => [m.name, m]));
    expect(byName.emb).toMatchObject({ kind: 'vector', shape: [10], length: null, length_policy: null });
    expect(byName.mfcc).toMatchObject({ kind: 'sequence', shape: [20, 6], length: { min: 5, max: 20 }, length_policy: { steps: 20, crop: 'random', mask: true } });
    // [T, 8, 8] with T varying: grayscale frames, given their channel axis
    expect(byName.lips).toMatchObject({ kind: 'frames', shape: [5, 1, 8, 8], length: { min: 2, max: 5 } });
    // the median is over every sample, not the first one's length
    const ts = ['train', 'val', 'test'].flatMap((s) => ds.samples(s as 'train').map((x) => readNpy(readFileSync(join(root, 'mfcc', `${x.id}.npy`)), 'x').shape[0]!)).sort((a, b) => a - b);
    expect(byName.mfcc!.length!.median).toBe((ts[29]! + ts[30]!) / 2);
  });

  it('declared kinds: a [H, W] array as an image, a 4-D array as a sequence is refused', async () => {
    const root = twoModalities({ pic: [[4, 5], [4, 5], [4, 5]], seq: [[3, 2, 2, 2], [4, 2, 2, 2], [3, 2, 2, 2]] });
    const ds = await openDataset(`folder:${root}`, { 'pic.kind': 'image' });
    expect(ds.modalities.map((m) => [m.name, m.shape])).toEqual([['pic', [1, 4, 5]], ['seq', [4, 2, 2, 2]]]);
    await expect(openDataset(`folder:${root}`, { seq: { kind: 'sequence' } })).rejects.toThrow(
      `${join(root, 'seq', 'a.npy')}: is a 4-D array [3, 2, 2, 2] but modality "seq" is declared sequence, which takes [T, D]; declare it frames (--data-opt seq.kind=frames) or store [T, D] arrays`);
    await expect(openDataset(`folder:${root}`, { 'seq.lenght': 3 })).rejects.toThrow('unknown option "seq.lenght" (known: seq.kind, seq.length, seq.crop, seq.mask)');
    await expect(openDataset(`folder:${root}`, { 'seq.length': 0 })).rejects.toThrow('option seq.length must be "max" or a number of steps >= 1, got 0');
    await expect(openDataset(`folder:${root}`, { 'pic.kind': 'image', 'pic.length': 3 })).rejects.toThrow('option pic.length applies to sequences and frames, and "pic" is an image');
  });

  it('only the number of steps may vary; NaN in a file names the file, the sample and the fix', async () => {
    const ragged = twoModalities({ s: [[3, 2], [4, 3], [3, 2]], v: [[2], [2], [2]] });
    await expect(openDataset(`folder:${ragged}`)).rejects.toThrow(`${join(ragged, 's', 'b.npy')}: has shape [4, 3], but ${join(ragged, 's', 'a.npy')} has [3, 2]: every "s" sequence needs steps of [2] (only the number of steps may vary)`);
    const root = twoModalities({ s: [[3, 2], [4, 2], [3, 2]], v: [[2], [2], [2]] }, (m, i, k) => (m === 's' && i === 1 && k === 5 ? NaN : k));
    const ds = await openDataset(`folder:${root}`);
    await expect(ds.load(ds.samples('train')[1]!, { train: false, seed: 0, epoch: 0 })).rejects.toThrow(
      `${join(root, 's', 'b.npy')}: sample "b" holds NaN at element 5 (step 2); replace non-finite values in the file, or fix the data or pass --skip-bad-samples`);
    // with skipBadSamples the loader leaves the sample out and lists it
    const loader = createLoader(ds, 'train', { batchSize: 8, shuffle: false, train: false, skipBadSamples: true });
    const [batch] = await collect(loader);
    expect(batch!.ids).toEqual(['a', 'c']);
    expect(loader.skipped.map((s) => s.id)).toEqual(['b']);
  });

  it('the loader pads to the policy\'s steps with lengths, crops at the centre in evaluation and at a seeded random window in training', async () => {
    const root = twoModalities({ s: [[3, 2], [6, 2], [1, 2]], v: [[2], [2], [2]] }, (_, i, k) => i * 100 + k + 1);
    const padded = await openDataset(`folder:${root}`);
    const [b] = await collect(createLoader(padded, 'train', { batchSize: 8, shuffle: false, train: false }));
    const s = b!.inputs.s!;
    expect(s.shape).toEqual([3, 6, 2]);
    expect([...s.lengths!]).toEqual([3, 6, 1]);
    expect(s.masked).toBe(true);
    expect([...s.data.subarray(0, 12)]).toEqual([1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0]);
    expect([...s.data.subarray(24, 36)]).toEqual([201, 202, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    const cropped = await openDataset(`folder:${root}`, { s: { length: 2, mask: false } });
    const [c] = await collect(createLoader(cropped, 'train', { batchSize: 8, shuffle: false, train: false }));
    expect(c!.inputs.s!.shape).toEqual([3, 2, 2]);
    expect(c!.inputs.s!.masked).toBe(false);
    // centre windows: a (3 steps) from step 0, b (6 steps) from step 2
    expect([...c!.inputs.s!.data.subarray(0, 8)]).toEqual([1, 2, 3, 4, 105, 106, 107, 108]);
    const starts = async (epoch: number): Promise<number> => {
      const loader = createLoader(cropped, 'train', { batchSize: 8, shuffle: false, train: true, seed: 4, epoch });
      const [t] = await collect(loader);
      return (t!.inputs.s!.data[4]! - 101) / 2;
    };
    const windows = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(starts));
    expect(new Set(windows).size).toBeGreaterThan(1);
    for (const w of windows) expect(w >= 0 && w <= 4 && Number.isInteger(w)).toBe(true);
    expect(await starts(3)).toBe(windows[3]);
  });

  it('the disk cache keeps ragged samples whole', async () => {
    const root = twoModalities({ s: [[3, 2], [6, 2], [1, 2]], v: [[2], [2], [2]] });
    const ds = await openDataset(`folder:${root}`);
    const cacheDir = tempDir('cache');
    const first = await collect(createLoader(ds, 'train', { batchSize: 8, shuffle: false, train: false, cacheDir, memoryCache: false }));
    writeFileSync(join(root, 's', 'b.npy'), 'gone'); // served from the cache from now on
    const again = await collect(createLoader(ds, 'train', { batchSize: 8, shuffle: false, train: false, cacheDir, memoryCache: false }));
    expect([...again[0]!.inputs.s!.data]).toEqual([...first[0]!.inputs.s!.data]);
    expect([...again[0]!.inputs.s!.lengths!]).toEqual([3, 6, 1]);
  });
});

describe('dataset options are checked', () => {
  it('an unknown key, a key naming no modality folder, a stored-array key on another file type', async () => {
    const root = twoModalities({ s: [[3, 2], [4, 2], [3, 2]], v: [[2], [2], [2]] });
    await expect(openDataset(`folder:${root}`, { audioRecipie: 'ks' })).rejects.toThrow(
      /^dataset folder has no option "audioRecipie" \(options: skipBadSamples, seed, download, frames, imageSize, .*audioRecipe, <modality>\.kind\|length\|crop\|mask\); fix --data-opt or dataOptions$/);
    await expect(openDataset(`folder:${root}`, { 'audio.length': 4 })).rejects.toThrow('option "audio.length" names no modality folder (folders: s, v); fix --data-opt');
    await expect(openDataset('cremad:/nowhere', { splt: 'actor-disjoint' })).rejects.toThrow(/^dataset cremad has no option "splt" \(options: .*split.*\); fix --data-opt or dataOptions$/);
    await expect(openDataset('avdigits', { regim: 'corrupt' })).rejects.toThrow(/dataset avdigits has no option "regim"/);
  });
});
