import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readNpy, readNpyStrings } from '../../../src/data/io/npy.js';
import { isZip, readNpz } from '../../../src/data/io/npz.js';
import { tempDir } from '../../helpers/python.js';
import { npzBytes } from '../../diagnose/helpers/npz.js';
import { PYTHON, pythonMissing } from '../helpers/python.js';

describe('npz', () => {
  const members = { labels: { data: Int32Array.of(2, 0, 1), shape: [3] }, audio: { data: Float32Array.of(0.1, 0.2, 0.7, 1, 0, 0, 0, 1, 0), shape: [3, 3] } };

  it('reads stored and deflated members, keyed by array name in the archive order', () => {
    for (const compressed of [false, true]) {
      const m = readNpz(npzBytes(members, compressed), 'p.npz');
      expect([...m.keys()]).toEqual(['labels', 'audio']);
      expect([...readNpy(m.get('labels') as Uint8Array, 'labels').data]).toEqual([2, 0, 1]);
      const audio = readNpy(m.get('audio') as Uint8Array, 'audio');
      expect(audio.shape).toEqual([3, 3]);
      expect([...audio.data]).toEqual([...members.audio.data]);
    }
  });

  it('refuses a damaged member and a file that is no zip, naming the file', () => {
    const bytes = npzBytes(members);
    expect(isZip(bytes)).toBe(true);
    const damaged = Uint8Array.from(bytes);
    damaged[30 + 'labels.npy'.length + 128] ^= 0xff; // the first label (after the local header, its name and the 128-byte .npy header)
    expect(() => readNpz(damaged, 'p.npz')).toThrow(/^p\.npz \(member labels\.npy\): member data is corrupt \(size or CRC-32 mismatch\)/);
    const text = new TextEncoder().encode('id,label\n');
    expect(isZip(text)).toBe(false);
    expect(() => readNpz(text, 'x.npz')).toThrow(/^x\.npz: not a zip archive/);
  });

  it.skipIf(pythonMissing !== null)('reads what np.savez and np.savez_compressed write: numbers, bools, unicode and bytes strings', () => {
    const dir = tempDir('mmgap-npz-');
    execFileSync(PYTHON, ['-c', `
import numpy as np
arrays = dict(f=np.arange(6, dtype='<f4').reshape(2, 3) / 3, g=np.arange(4, dtype='>f8') / 7, i=np.array([-3, 2**40]), b=np.array([True, False, True]),
              u=np.array(['a', 'évian', '😀x']), s=np.array([b'ab', b'c']))
np.savez('${dir}/plain.npz', **arrays)
np.savez_compressed('${dir}/packed.npz', **arrays)
`]);
    for (const name of ['plain.npz', 'packed.npz']) {
      const m = readNpz(readFileSync(join(dir, name)), name);
      const f = readNpy(m.get('f') as Uint8Array, 'f');
      expect(f.shape).toEqual([2, 3]);
      expect([...f.data]).toEqual([0, 1, 2, 3, 4, 5].map((x) => Math.fround(x / 3)));
      expect([...readNpy(m.get('g') as Uint8Array, 'g').data]).toEqual([0, 1, 2, 3].map((x) => x / 7));
      expect([...readNpy(m.get('i') as Uint8Array, 'i').data]).toEqual([-3, 2 ** 40]);
      expect([...readNpy(m.get('b') as Uint8Array, 'b').data]).toEqual([1, 0, 1]);
      expect(readNpyStrings(m.get('u') as Uint8Array, 'u')).toEqual(['a', 'évian', '😀x']);
      expect(readNpyStrings(m.get('s') as Uint8Array, 's')).toEqual(['ab', 'c']);
      expect(readNpyStrings(m.get('i') as Uint8Array, 'i')).toEqual(['-3', String(2 ** 40)]);
    }
  });
});
