/** report.html of a fabricated run: self-contained, and every chart and gallery thumbnail renders in headless Chromium. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { GALLERY_SIZE } from '../../src/report/gallery.js';
import { writeReport } from '../../src/report/index.js';
import { writeGalleryDataset } from './helpers/gallery-dataset.js';
import { writeRunFixture } from './helpers/run-fixture.js';
import { PURIFY_DEFAULTS } from '../../src/train/config.js';
import type { RunConfig } from '../../src/train/types.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '../../test-artifacts');
const dir = mkdtempSync(join(tmpdir(), 'mmgap-report-'));
const finished = join(dir, 'finished');
// The run's data: a folder dataset with a modality of every rank, for the gallery's thumbnails.
const data = writeGalleryDataset(join(dir, 'data'), 400);
const config = writeRunFixture(finished, { config: { data, epochs: 6, warmup: 2, purify: { ...PURIFY_DEFAULTS, epochs: 2 } } });
/** Modalities of the gallery dataset: one thumbnail each per gallery card. */
const MODALITIES = 4;
const epochs = config.epochs + (config.purify?.epochs ?? 0);
const CHARTS = ['accuracy', 'bic', 'subgroup', ...Array.from({ length: epochs }, (_, i) => `gaps-epoch-${i + 1}`), 'confusion', 'purification'];

describe('writeReport', () => {
  it('writes one self-contained page with every chart inlined', async () => {
    const file = await writeReport(finished);
    expect(file).toBe(join(finished, 'report.html'));
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/<script\b[^>]*\bsrc=|<link\b[^>]*stylesheet|@import|url\(\s*["']?https?:/i);
    expect(html).not.toMatch(/https?:\/\//);
    for (const name of CHARTS) expect(html).toContain(`data-chart="${name}"`);
    expect(html).toContain('320 of 400 (80.0 %)');
    expect(html).toMatch(/<td>epochs<\/td><td>6<\/td>/);
    for (const gallery of ['imbalanced', 'balanced', 'removed']) expect(html).toContain(`data-gallery="${gallery}"`);
    expect(html).not.toContain('No thumbnails');
  });

  it('reports an unfinished run without its test results', async () => {
    const partial = join(dir, 'partial');
    const normalization = { audio: { mean: [1, 2, 3], std: [1, 1, 1] }, visual: { mean: [0], std: [2] } };
    writeRunFixture(partial, { finished: false, predictions: false, config: { data: `folder:${join(dir, 'moved-away')}`, normalization } as Partial<RunConfig> });
    const html = readFileSync(await writeReport(partial), 'utf8');
    expect(html).toContain('The run has not finished');
    // the fitted statistics are named, not dumped into the settings table
    expect(html).toContain('<td>normalization</td><td>per-feature mean and std fitted on the training split (config.json): audio (3 features), visual (1 features)</td>');
    // Its data is gone and its gaps CSVs predate predictions: the gallery shows the rows and says why thumbnails are missing.
    expect(html).toMatch(/<b>No thumbnails<\/b>: the dataset &quot;folder:[^&]*moved-away&quot; could not be opened/);
    expect(html).toContain('data-gallery="imbalanced"');
    expect(html).toContain('data-chart="accuracy"');
    expect(html).not.toContain('data-chart="confusion"');
  });
});

describe.skipIf(!existsSync(CHROMIUM))('report.html in headless Chromium', () => {
  it('renders every chart with visible marks and every gallery thumbnail, loads nothing from outside, logs no error', async () => {
    const file = await writeReport(finished);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`, { waitUntil: 'load' });
      const charts = await page.$$eval('figure.chart', (figs) =>
        figs.map((f) => {
          const svg = f.querySelector('svg');
          const marks = svg ? [...svg.querySelectorAll('g.role-mark')].map((g) => (g as unknown as { getBBox(): { width: number; height: number } }).getBBox()) : [];
          return {
            name: f.getAttribute('data-chart'),
            svg: svg ? { w: svg.getBoundingClientRect().width, h: svg.getBoundingClientRect().height } : null,
            shapes: svg ? svg.querySelectorAll('g.role-mark path, g.role-mark rect, g.role-mark line, g.role-mark text').length : 0,
            drawn: marks.filter((b) => b.width > 0 && b.height > 0).length,
          };
        }),
      );
      expect(charts.map((c) => c.name)).toEqual(CHARTS);
      for (const c of charts) {
        expect(c.svg?.w, c.name ?? '').toBeGreaterThan(100);
        expect(c.svg?.h, c.name ?? '').toBeGreaterThan(80);
        expect(c.shapes, c.name ?? '').toBeGreaterThan(0);
        expect(c.drawn, c.name ?? '').toBeGreaterThan(0);
      }
      const thumbnails = await page.$$eval('.gallery img', (imgs) =>
        (imgs as unknown as { alt: string; complete: boolean; naturalWidth: number; naturalHeight: number; getBoundingClientRect(): { width: number; height: number } }[]).map((img) => {
          const box = img.getBoundingClientRect();
          return { alt: img.alt, complete: img.complete, natural: img.naturalWidth * img.naturalHeight, shown: box.width * box.height };
        }),
      );
      const cards = await page.$$eval('.gallery', (gs) => gs.map((g) => [g.getAttribute('data-gallery'), g.querySelectorAll('.sample').length] as const));
      expect(cards).toEqual([['imbalanced', GALLERY_SIZE.imbalanced], ['balanced', GALLERY_SIZE.balanced], ['removed', GALLERY_SIZE.removed]]);
      expect(thumbnails.length).toBe(MODALITIES * (GALLERY_SIZE.imbalanced + GALLERY_SIZE.balanced + GALLERY_SIZE.removed));
      for (const t of thumbnails) {
        expect(t.complete, t.alt).toBe(true);
        expect(t.natural, t.alt).toBeGreaterThan(0);
        expect(t.shown, t.alt).toBeGreaterThan(0);
      }
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
