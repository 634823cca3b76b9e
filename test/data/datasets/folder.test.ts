import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/data/io/npy.js';
import { openDataset } from '../../../src/data/open.js';
import { frameFolder, jpegBytes, put, tempDir, toneWav } from '../helpers/fixtures.js';

function folderFixture(): string {
  const root = tempDir('folder');
  const rows = ['id,label,split', 'a,cat,train', 'b,dog,train', 'c,cat,val', 'd,bird,test'];
  put(join(root, 'manifest.csv'), rows.join('\n') + '\n');
  for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) {
    put(join(root, 'emb', `${id}.npy`), writeNpy(Float32Array.from({ length: 6 }, (_, k) => i * 10 + k), [2, 3]));
    put(join(root, 'sound', `${id}.wav`), toneWav(0.3, 8000, i));
    put(join(root, 'photo', `${id}.jpg`), jpegBytes(24, 20, i));
    frameFolder(join(root, 'video', id), 3, i);
  }
  return root;
}

describe('folder', () => {
  it('reads any number of modalities of each kind, with sorted class names', async () => {
    const root = folderFixture();
    const ds = await openDataset(`folder:${root}`, { imageSize: 8, frames: 2, audioRecipe: 'avdigits' });
    expect(ds.classes).toEqual(['bird', 'cat', 'dog']);
    expect(ds.modalities).toEqual([
      { name: 'emb', shape: [2, 3], augmented: false, raw: true, lengths: { min: 2, median: 2, max: 2 } },
      { name: 'photo', shape: [3, 8, 8], augmented: true },
      { name: 'sound', shape: [1, 40, 48], augmented: false },
      { name: 'video', shape: [2, 3, 8, 8], augmented: true },
    ]);
    expect(ds.samples('train').map((s) => [s.id, s.label])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    const f = await ds.load(ds.samples('test')[0], { train: false, seed: 0, epoch: 0 });
    expect([...f.emb]).toEqual([30, 31, 32, 33, 34, 35]);
    expect(f.photo).toHaveLength(3 * 8 * 8);
    expect(f.sound).toHaveLength(40 * 48);
    expect(f.video).toHaveLength(2 * 3 * 8 * 8);
  });

  it('integer labels; bad rows name manifest.csv and the line; a missing item names its path', async () => {
    const root = tempDir('folder-int');
    put(join(root, 'manifest.csv'), 'id,label,split\nx,2,train\ny,0,test\nz,1,validation\n');
    for (const id of ['x', 'y', 'z']) {
      put(join(root, 'm1', `${id}.npy`), writeNpy(new Float32Array(4), [4]));
      put(join(root, 'm2', `${id}.npy`), writeNpy(new Float32Array(2), [2]));
    }
    const manifest = join(root, 'manifest.csv');
    await expect(openDataset(`folder:${root}`)).rejects.toThrow(`${manifest}:4: unknown split "validation" (known: train, val, test)`);
    const ds = await openDataset(`folder:${root}`, { skipBadSamples: true });
    expect(ds.classes).toEqual(['0', '1', '2']);
    expect(ds.samples('train')[0].label).toBe(2);
    expect(ds.skipped).toHaveLength(1);

    appendFileSync(manifest, 'w,1,train\n');
    put(join(root, 'm1', 'w.npy'), writeNpy(new Float32Array(4), [4]));
    await expect(openDataset(`folder:${root}`)).rejects.toThrow(/manifest\.csv:4: unknown split/);
    rmSync(join(root, 'm1', 'w.npy'));
    put(join(root, 'm2', 'w.npy'), writeNpy(new Float32Array(2), [2]));
    const skipping = await openDataset(`folder:${root}`, { skipBadSamples: true });
    expect(skipping.skipped.map((s) => [s.line, s.reason])).toEqual([
      [4, 'unknown split "validation" (known: train, val, test)'],
      [5, `"w": ${join(root, 'm1', 'w.npy')} is missing (modality "m1" holds npy items)`],
    ]);
  });

  it('rejects a bad header and a single modality folder', async () => {
    const root = tempDir('folder-bad');
    put(join(root, 'manifest.csv'), 'name,class\n');
    await expect(openDataset(`folder:${root}`)).rejects.toThrow(`${join(root, 'manifest.csv')}:1: expected the header "id,label,split", found "name,class"`);
    put(join(root, 'manifest.csv'), 'id,label,split\na,x,train\n');
    put(join(root, 'only', 'a.npy'), writeNpy(new Float32Array(1), [1]));
    await expect(openDataset(`folder:${root}`)).rejects.toThrow('a folder dataset needs at least two modality folders, found 1');
  });
});
