import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../../src/data/io/npy.js';
import { openDataset } from '../../../src/data/open.js';
import { frameFolder, ksFixture, put, tempDir, toneWav } from '../helpers/fixtures.js';
import { pythonBytes, pythonMissing } from '../helpers/python.js';

describe('ave', () => {
  it('reads the split files, sorted categories, .pkl (pickled by Python) or .wav audio, frame folders', async () => {
    const root = tempDir('ave');
    const rows = [
      ['Church bell', 'aaa111', 'train'],
      ['Dog', 'bbb222', 'train'],
      ['Acoustic guitar', 'ccc333', 'val'],
      ['Dog', 'ddd444', 'test'],
    ];
    for (const [cat, id, split] of rows) {
      const file = { train: 'trainSet.txt', val: 'valSet.txt', test: 'testSet.txt' }[split]!;
      appendFileSync(join(root, file), `${cat}&${id}&good&0&10\n`);
      frameFolder(join(root, 'Image-01-FPS-SE', id), 5, id.length);
    }
    const withPkl = pythonMissing === null;
    if (withPkl) {
      put(join(root, 'Audio-1004-SE', 'aaa111.pkl'), pythonBytes("import pickle, numpy as np\nout = pickle.dumps(np.arange(257 * 1004, dtype='f4').reshape(257, 1004) / 1000, protocol=4)"));
      put(join(root, 'Audio-1004-SE', 'bbb222.pkl'), pythonBytes("import pickle, numpy as np\nout = pickle.dumps(np.ones((257, 1004)), protocol=2)"));
    } else {
      for (const id of ['aaa111', 'bbb222']) put(join(root, 'Audio-1004-SE', `${id}.wav`), toneWav(1, 16000, 1));
    }
    for (const id of ['ccc333', 'ddd444']) put(join(root, 'Audio-1004-SE', `${id}.wav`), toneWav(2, 22050, 2));
    const ds = await openDataset(`ave:${root}`, { imageSize: 16 });
    expect(ds.classes).toEqual(['Acoustic guitar', 'Church bell', 'Dog']);
    expect(ds.samples('train').map((s) => [s.id, s.label])).toEqual([
      ['aaa111', 1],
      ['bbb222', 2],
    ]);
    expect(ds.modalities[0].shape).toEqual([1, 257, 1004]);
    expect(ds.modalities[1].shape).toEqual([3, 3, 16, 16]);
    const a = await ds.load(ds.samples('train')[0], { train: false, seed: 0, epoch: 0 });
    expect(a.audio).toHaveLength(257 * 1004);
    if (withPkl) expect(a.audio[1005]).toBeCloseTo(1.005, 6);
    const w = await ds.load(ds.samples('test')[0], { train: true, seed: 0, epoch: 0 });
    expect(w.audio).toHaveLength(257 * 1004);
    expect(Number.isFinite(w.audio[500])).toBe(true);
  });
});

describe('ks', () => {
  it('reads my_train/my_test, class names, .npy fbanks and frame_00001.jpg folders', async () => {
    const { root, ids } = ksFixture();
    const ds = await openDataset(`ks:${root}`, { imageSize: 16, valFraction: 0 });
    expect(ds.classes).toEqual(['chopping wood', 'dog barking', 'playing bagpipes']);
    expect(ds.samples('train').map((s) => s.label)).toEqual([2, 0, 1, 2, 0, 1]);
    expect(ds.samples('test').map((s) => s.id)).toEqual(ids.slice(6));
    const f = await ds.load(ds.samples('test')[0], { train: false, seed: 0, epoch: 0 });
    expect(f.audio[130]).toBe(2 + 6);
    expect(f.visual).toHaveLength(3 * 3 * 16 * 16);
  });

  it('integer labels, wav audio through the fbank recipe, and a wrong-shape .npy error naming the file', async () => {
    const { root, ids } = ksFixture();
    writeFileSync(join(root, 'my_train.txt'), readFileSync(join(root, 'my_train.txt'), 'utf8').replace(/,10,.*$/gm, ',10,3'));
    writeFileSync(join(root, 'my_test.txt'), readFileSync(join(root, 'my_test.txt'), 'utf8').replace(/,10,.*$/gm, ',10,1'));
    put(join(root, 'audio', `${ids[7]}.npy`), writeNpy(new Float32Array(100 * 128), [100, 128]));
    const ds = await openDataset(`ks:${root}`, { imageSize: 16, valFraction: 0 });
    expect(ds.classes).toEqual(['0', '1', '2', '3']);
    expect(ds.samples('test')[0].label).toBe(1);
    const bad = join(root, 'audio', `${ids[7]}.npy`);
    await expect(ds.load(ds.samples('test')[1], { train: false, seed: 0, epoch: 0 })).rejects.toThrow(`${bad}: wrong shape [100, 128], expected [1, 1024, 128]`);
  });
});
