import { createServer } from 'node:http';
import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { downloadFsdd, FSDD_URL, locateFsdd } from '../../../src/data/datasets/fsdd.js';
import { tempDir, toneWav } from '../helpers/fixtures.js';

describe('locating FSDD', () => {
  const env = { MMGAP_FSDD: process.env.MMGAP_FSDD, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  afterAll(() => Object.assign(process.env, env));

  it('finds ../shared/data/fsdd by default; a bad fsddDir or MMGAP_FSDD is an error naming it', async () => {
    delete process.env.MMGAP_FSDD;
    expect(await locateFsdd({ download: false })).toMatch(/shared\/data\/fsdd\/recordings$/);
    await expect(locateFsdd({ fsddDir: '/nonexistent/fsdd' })).rejects.toThrow('FSDD not found in /nonexistent/fsdd (from option fsddDir)');
    process.env.MMGAP_FSDD = '/nonexistent/env';
    await expect(locateFsdd()).rejects.toThrow('(from MMGAP_FSDD)');
    delete process.env.MMGAP_FSDD;
  });

  it('without a local copy and without download, the error names MMGAP_FSDD and the URL', async () => {
    process.env.XDG_CACHE_HOME = tempDir('cache');
    await expect(locateFsdd({ download: false, searchShared: false })).rejects.toThrow(
      `FSDD recordings not found (set MMGAP_FSDD to a folder holding recordings/*.wav, or place them in ../shared/data/fsdd), and the download from ${FSDD_URL} failed: downloading is disabled`,
    );
  });

  it('downloads all 3,000 files into the user cache (served locally here), atomically', async () => {
    let requests = 0;
    const wav = toneWav(0.05, 8000, 1);
    const server = createServer((req, res) => {
      requests++;
      res.end(req.url?.endsWith('.wav') ? wav : '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rec/`;
    try {
      process.env.XDG_CACHE_HOME = tempDir('cache');
      const dir = await locateFsdd({ searchShared: false, fsddUrl: url });
      expect(dir).toBe(`${process.env.XDG_CACHE_HOME}/mmgap/fsdd/recordings`);
      const files = readdirSync(dir);
      expect(files).toHaveLength(3000);
      expect(files.some((f) => f.includes('.tmp'))).toBe(false);
      expect(requests).toBe(3000);
      await downloadFsdd(url, dir); // complete: nothing fetched again
      expect(requests).toBe(3000);
      expect(await locateFsdd({ searchShared: false, download: false })).toBe(dir);
    } finally {
      server.close();
    }
  });
});
