import { describe, expect, it } from 'vitest';
import { centreOfEachSecond, EXTRACT_LAYOUTS, ksWindow } from '../../../src/data/extract/layouts.js';
import { assignSplits, type ClipJob } from '../../../src/data/extract/plan.js';

describe('frame rules', () => {
  it('AVE/KS: the centre of each second, as the peers\' 1-based reader takes round((i + 0.5) fps) (half to even)', () => {
    // 25 fps: round(12.5) = 12 (half to even), round(37.5) = 38, round(62.5) = 62; minus 1 for the 1-based positions
    expect(centreOfEachSecond(75, 25)).toEqual([11, 37, 61]);
    expect(centreOfEachSecond(90, 30)).toEqual([14, 44, 74]);
    expect(centreOfEachSecond(90, 30000 / 1001)).toEqual([14, 44, 74]);
    expect(centreOfEachSecond(250, 25)).toHaveLength(10);
    expect(centreOfEachSecond(3, 25)).toEqual([2]); // shorter than a second: one frame, inside the clip
  });

  it('CREMA-D: the first frame of each second, named by its source index', () => {
    const l = EXTRACT_LAYOUTS.cremad;
    expect(l.frameIndices(75, 25)).toEqual([0, 25, 50]);
    expect(l.frameIndices(76, 25)).toEqual([0, 25, 50, 75]);
    expect(l.frameIndices(90, 30000 / 1001)).toEqual([0, 29, 58, 87]); // int(29.97) = 29, as the script's int(fps)
    expect(l.frameName(1, 25)).toBe('00025.jpg');
    expect(EXTRACT_LAYOUTS.ks.frameName(0, 11)).toBe('frame_00001.jpg');
  });
});

describe('split files', () => {
  it('parse the layouts\' lines and say what a bad one should be', () => {
    expect(EXTRACT_LAYOUTS.ave.parseLine('Church bell&RUhOCu3LNXM&good&0&10', 'train')).toMatchObject({ id: 'RUhOCu3LNXM', label: 'Church bell', event: { start: 0, end: 10 } });
    expect(EXTRACT_LAYOUTS.ave.parseLine('Category&VideoID&Quality&StartTime&EndTime', 'train')).toBeNull();
    expect(EXTRACT_LAYOUTS.ave.parseLine('Dog&x&good&5&2', 'train')).toMatch(/Start < End/);
    expect(EXTRACT_LAYOUTS.ks.parseLine('abc_d_000010_000020,10,playing drums', 'test')).toMatchObject({ id: 'abc_d_000010_000020', label: 'playing drums', split: 'test' });
    expect(EXTRACT_LAYOUTS.cremad.parseLine('1001_DFA_ANG_XX', 'train')).toMatch(/expected/);
    expect(EXTRACT_LAYOUTS.folder.parseLine('a,dog,dev', 'train')).toMatch(/unknown split "dev"/);
    expect(ksWindow('a_b_000010_000020')).toEqual({ ytid: 'a_b', start: 10, end: 20 });
    expect(ksWindow('plainname')).toBeNull();
  });

  it('formats the lines the loaders read', () => {
    const clips = [
      { id: 'a', label: 'dog', split: 'train' as const, line: null, seconds: 9.98 },
      { id: 'b', label: 'cat', split: 'test' as const, line: 'cat&b&bad&1&4', seconds: 10 },
    ];
    expect(EXTRACT_LAYOUTS.ave.formatLists(clips)).toEqual({ 'trainSet.txt': 'dog&a&good&0&10\n', 'valSet.txt': '', 'testSet.txt': 'cat&b&bad&1&4\n' });
    expect(EXTRACT_LAYOUTS.ks.formatLists(clips)['my_train.txt']).toBe('a,10,dog\n');
    expect(EXTRACT_LAYOUTS.folder.formatLists(clips.map((c) => ({ ...c, line: null })))['manifest.csv']).toBe('id,label,split\na,dog,train\nb,cat,test\n');
  });

  it('assigns seeded, class-stratified splits: each class keeps train, and gets test (and val) when it can', () => {
    const jobs = (): ClipJob[] =>
      ['a', 'b', 'c'].flatMap((label, c) => Array.from({ length: [10, 3, 1][c] }, (_, i) => ({ id: `${label}${i}`, video: '', label, split: null, line: null, window: null })));
    const one = jobs();
    assignSplits(one, ['train', 'val', 'test'], { test: 0.2, val: 0.1 }, 7);
    const count = (label: string, split: string): number => one.filter((j) => j.label === label && j.split === split).length;
    expect([count('a', 'train'), count('a', 'val'), count('a', 'test')]).toEqual([7, 1, 2]);
    expect([count('b', 'train'), count('b', 'val'), count('b', 'test')]).toEqual([1, 1, 1]);
    expect([count('c', 'train'), count('c', 'val'), count('c', 'test')]).toEqual([1, 0, 0]);
    const again = jobs().reverse(); // the order clips are found in does not matter
    assignSplits(again, ['train', 'val', 'test'], { test: 0.2, val: 0.1 }, 7);
    expect(Object.fromEntries(again.map((j) => [j.id, j.split]))).toEqual(Object.fromEntries(one.map((j) => [j.id, j.split])));
    const other = jobs();
    assignSplits(other, ['train', 'val', 'test'], { test: 0.2, val: 0.1 }, 8);
    expect(other.map((j) => j.split)).not.toEqual(one.map((j) => j.split));
    const noVal = jobs();
    assignSplits(noVal, ['train', 'test'], { test: 0.2, val: 0.1 }, 7);
    expect(noVal.some((j) => j.split === 'val')).toBe(false);
  });
});
