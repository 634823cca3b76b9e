/** The sample gallery: which samples it picks, thumbnails from the run's dataset, and the note when the data is gone. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gallerySection, GALLERY_SIZE, galleryEpoch, pickBalanced, pickImbalanced, pickRemoved } from '../../src/report/gallery.js';
import type { Dataset, Sample } from '../../src/data/types.js';
import { datasetThumbnails, loadThumbnails, type GalleryThumbnails } from '../../src/report/gallery-samples.js';
import type { GapRow } from '../../src/report/gaps-csv.js';
import { readRunDir } from '../../src/report/run-data.js';
import { PURIFY_DEFAULTS } from '../../src/train/config.js';
import { writeGalleryDataset } from './helpers/gallery-dataset.js';
import { writeRunFixture } from './helpers/run-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-gallery-'));
const SAMPLES = 120;
const data = writeGalleryDataset(join(dir, 'data'), SAMPLES);

function row(id: string, gap: number, gamma: number, keep?: number): GapRow {
  return { id, label: 0, gap, gamma, dominant: 'audio', corrupted: false, ...(keep === undefined ? {} : { keep }) };
}

const cards = (html: string, gallery: string): string[] => {
  const part = html.split(`data-gallery="${gallery}"`)[1]?.split('data-gallery=')[0] ?? '';
  return [...part.matchAll(/class="sample" data-id="([^"]+)"/g)].map((m) => m[1] as string);
};

describe('picking samples', () => {
  const rows = [row('a', 0.9, 0.99), row('b', -0.8, 0.99), row('c', 0.05, 0.01), row('d', 0.2, 0.01), row('e', 0.5, 0.6)];

  it('imbalanced: highest gamma, ties by the larger |gap|; balanced: lowest gamma, ties by the smaller |gap|, never a sample shown above', () => {
    expect(pickImbalanced(rows, 3).map((r) => r.id)).toEqual(['a', 'b', 'e']);
    expect(pickBalanced(rows, 2).map((r) => r.id)).toEqual(['c', 'd']);
    expect(pickBalanced(rows, 5, pickImbalanced(rows, 3)).map((r) => r.id)).toEqual(['c', 'd']);
  });

  it('removed: keep below 1 only, keep 0 first, then the higher gamma', () => {
    const p = [row('k', 0, 0.1, 1), row('x', 0, 0.7, 0), row('y', 0, 0.9, 0), row('s', 0, 0.4, 0.6)];
    expect(pickRemoved(p, 10).map((r) => r.id)).toEqual(['y', 'x', 's']);
    expect(pickRemoved([row('k', 0, 0.1, 1)], 10)).toEqual([]);
    expect(pickRemoved(p, 10, [row('y', 0, 0.9)]).map((r) => r.id)).toEqual(['x', 's']);
  });

  it('the epoch: the selected one when its gaps exist, else the last with gaps', () => {
    const gaps = new Map([[2, rows], [5, rows]]);
    expect(galleryEpoch({ summary: { bestEpoch: 2 } as never, gaps })).toBe(2);
    expect(galleryEpoch({ summary: { bestEpoch: 3 } as never, gaps })).toBe(5);
    expect(galleryEpoch({ summary: null, gaps: new Map() })).toBeNull();
  });
});

describe('loadThumbnails', () => {
  it('opens the run dataset and draws every modality of each sample, in eval mode', async () => {
    const t = await loadThumbnails({ data, dataOptions: {}, seed: 0 }, ['s1', 's7', 'nope']);
    expect(t.unavailable).toBeNull();
    expect(t.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const s1 = t.bySample.get('s1')!;
    expect(s1.problem).toBeNull();
    expect(s1.modalities.map((m) => m.modality)).toEqual(['audio', 'clip', 'frames', 'visual']);
    const titles = s1.modalities.map((m) => ('thumbnail' in m ? m.thumbnail.title : m.problem));
    expect(titles[0]).toMatch(/^sequence \[17, 13\] as a heat map/); // s1's own length
    expect(titles[1]).toMatch(/^vector \[32\] as a heat strip/);
    expect(titles[2]).toMatch(/^frame 3 of 5 of \[5, 3, 16, 16\] in colour/);
    expect(titles[3]).toMatch(/^image \[1, 28, 28\] in grey/);
    expect(t.bySample.get('nope')?.problem).toMatch(/is not in the training split/);
  });

  it('ragged sequences and frame stacks: each sample drawn with its own T; a sample that fails to load says why', async () => {
    const steps: Record<string, number> = { a: 4, b: 7 };
    const sample = (id: string, index: number): Sample => ({ id, label: 0, split: 'train', index, corruption: null });
    const ragged = {
      name: 'ragged', classes: ['x'], recipe: '', skipped: [], source: { spec: 'folder:/ragged', options: {} },
      // The specs hold the fitted length (10 steps); samples come with their own.
      modalities: [{ name: 'mfcc', shape: [10, 3], augmented: false }, { name: 'lips', shape: [10, 1, 2, 2], augmented: false }],
      samples: () => ['a', 'b', 'c'].map(sample),
      load: async (s: Sample) => {
        const t = steps[s.id];
        if (t === undefined) throw new Error(`${s.id}.npy is unreadable`);
        return { mfcc: new Float32Array(t * 3).map((_, i) => i), lips: new Float32Array(t * 4).map((_, i) => i) };
      },
    } as unknown as Dataset;
    const t = await datasetThumbnails(ragged, ['a', 'b', 'c'], 0);
    const titles = (id: string): string[] => t.bySample.get(id)!.modalities.map((m) => ('thumbnail' in m ? m.thumbnail.title : m.problem));
    expect(titles('a')).toEqual([expect.stringMatching(/^sequence \[4, 3\]/), expect.stringMatching(/^frame 3 of 4 of \[4, 1, 2, 2\]/)]);
    expect(titles('b')).toEqual([expect.stringMatching(/^sequence \[7, 3\]/), expect.stringMatching(/^frame 4 of 7 of \[7, 1, 2, 2\]/)]);
    expect(t.bySample.get('c')?.problem).toBe('could not be loaded: c.npy is unreadable');
  });

  it('says why when the dataset cannot be opened, and loads nothing', async () => {
    const gone = join(dir, 'moved-away');
    const t = await loadThumbnails({ data: `folder:${gone}`, dataOptions: {}, seed: 0 }, ['s1']);
    expect(t.unavailable).toMatch(new RegExp(`^the dataset "folder:${gone}" could not be opened \\(.*manifest`));
    expect(t.bySample.size).toBe(0);
  });
});

describe('gallerySection', () => {
  it('shows 12 imbalanced, 6 balanced and the removals with thumbnails, labels, gaps and predictions', async () => {
    const run = join(dir, 'run');
    writeRunFixture(run, { samples: SAMPLES, config: { data, purify: { ...PURIFY_DEFAULTS, epochs: 1 } } });
    const html = await gallerySection(await readRunDir(run));
    const imbalanced = cards(html, 'imbalanced');
    const balanced = cards(html, 'balanced');
    const removed = cards(html, 'removed');
    expect(imbalanced.length).toBe(GALLERY_SIZE.imbalanced);
    expect(balanced.length).toBe(GALLERY_SIZE.balanced);
    expect(removed.length).toBeGreaterThan(0);
    expect(new Set([...imbalanced, ...balanced, ...removed]).size).toBe(imbalanced.length + balanced.length + removed.length);
    // Removals already among the most imbalanced say so on their card instead of being shown twice.
    expect(html.split('data-gallery="imbalanced"')[1]?.split('data-gallery="balanced"')[0]).toContain('removed by purification');
    expect(html).toMatch(/of them are shown above and not repeated/);
    // Every card of every part carries one image per modality of the dataset.
    expect(html.match(/<img src="data:image\/png;base64,/g)?.length).toBe(4 * (imbalanced.length + balanced.length + removed.length));
    expect(html).not.toContain('No thumbnails');
    expect(html).not.toContain('Predicted classes are missing');
    expect(html).toContain('Training samples at epoch 6 (the selected model)');
    expect(html).toMatch(/label <b>\d<\/b>/);
    expect(html).toMatch(/predicted: <span class="(ok|wrong)"[^>]*>fused \d [✓✗]<\/span> · <span[^>]*>audio \d/);
    expect(html).toContain('Purification kept the samples with γ &lt; 0.5: these were removed');
  });

  it('without the dataset: the rows still, with a note saying why the thumbnails are missing', async () => {
    const run = join(dir, 'run-moved');
    writeRunFixture(run, { samples: SAMPLES, predictions: false, config: { data: `folder:${join(dir, 'gone')}` } });
    const html = await gallerySection(await readRunDir(run));
    expect(html).toMatch(/<b>No thumbnails<\/b>: the dataset &quot;folder:[^&]*gone&quot; could not be opened \(/);
    expect(cards(html, 'imbalanced').length).toBe(GALLERY_SIZE.imbalanced);
    expect(html).not.toContain('<img');
    expect(html).toContain('Predicted classes are missing where the run predates them');
    expect(html).not.toContain('predicted:');
    expect(cards(html, 'removed')).toEqual([]);
  });

  it('a modality without a thumbnail gets a placeholder and the reason', async () => {
    const run = join(dir, 'run-odd');
    writeRunFixture(run, { samples: SAMPLES, config: { data } });
    const odd = async (_: unknown, ids: readonly string[]): Promise<GalleryThumbnails> => ({
      unavailable: null, classes: null,
      bySample: new Map(ids.map((id) => [id, { problem: null, modalities: [{ modality: 'depth', problem: 'shape [2, 2, 2, 2, 2] has rank 5' }] }])),
    });
    const html = await gallerySection(await readRunDir(run), odd);
    expect(html).toContain('<span class="thumb-missing" title="shape [2, 2, 2, 2, 2] has rank 5">no thumbnail</span>');
    expect(html).toContain('<div class="note">depth: shape [2, 2, 2, 2, 2] has rank 5</div>');
  });
});
