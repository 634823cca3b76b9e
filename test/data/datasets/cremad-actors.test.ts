import { describe, expect, it } from 'vitest';
import { openDataset } from '../../../src/data/open.js';
import type { Dataset, Split } from '../../../src/data/types.js';
import { cremadFixture } from '../helpers/fixtures.js';

const actorsOf = (ds: Dataset, split: Split): Set<string> => new Set(ds.samples(split).map((s) => s.id.split('_')[0] as string));

describe('cremad split=actor-disjoint', () => {
  it('holds out whole actors for test and val, seeded; every listed clip lands in one split', async () => {
    const { root, train, test } = cremadFixture();
    const opts = { imageSize: 16, split: 'actor-disjoint', testFraction: 0.2, valFraction: 0.2, seed: 3 };
    const ds = await openDataset(`cremad:${root}`, opts);
    const [tr, va, te] = (['train', 'val', 'test'] as Split[]).map((s) => actorsOf(ds, s)) as [Set<string>, Set<string>, Set<string>];
    const all = new Set([...train, ...test].map((id) => id.split('_')[0] as string));
    expect(te.size).toBe(Math.round(0.2 * all.size));
    expect(va.size).toBe(Math.round(0.2 * all.size));
    expect(tr.size + va.size + te.size).toBe(all.size);
    for (const a of te) expect(tr.has(a) || va.has(a)).toBe(false);
    for (const a of va) expect(tr.has(a)).toBe(false);
    expect(ds.samples('train').length + ds.samples('val').length + ds.samples('test').length).toBe(train.length + test.length);
    // The same seed gives the same split, another seed another one.
    const again = await openDataset(`cremad:${root}`, opts);
    expect(actorsOf(again, 'test')).toEqual(te);
    const other = await Promise.all([4, 5, 6, 7].map((seed) => openDataset(`cremad:${root}`, { ...opts, seed })));
    expect(other.some((o) => JSON.stringify([...actorsOf(o, 'test')].sort()) !== JSON.stringify([...te].sort()))).toBe(true);
  });

  it('a bad split option is a one-line error naming the option and the flag', async () => {
    const { root } = cremadFixture();
    await expect(openDataset(`cremad:${root}`, { split: 'by-actor' })).rejects.toThrow(
      'cremad: option split must be one of standard, actor-disjoint, got "by-actor"; fix --data-opt split=...',
    );
    await expect(openDataset(`cremad:${root}`, { split: 'actor-disjoint', testFraction: 1 })).rejects.toThrow(/cremad: option testFraction must be a number in \(0, 1\), got 1; fix --data-opt testFraction=/);
  });
});
