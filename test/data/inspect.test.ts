import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatReport, inspectDataset } from '../../src/data/inspect.js';
import { cremadFixture } from './helpers/fixtures.js';

describe('inspect', () => {
  it('inspect-main prints the avdigits report, its last line one JSON object', () => {
    const main = fileURLToPath(new URL('../../src/data/inspect-main.ts', import.meta.url));
    const hooks = new URL('./helpers/register-ts.mjs', import.meta.url).href;
    const r = spawnSync(process.execPath, ['--import', hooks, main, 'avdigits', '--set', 'regime=corrupt'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]);
    expect([report.train, report.val, report.test]).toEqual([2000, 500, 500]);
    expect(report.modalities.map((m: { name: string; shape: number[] }) => [m.name, m.shape])).toEqual([
      ['audio', [1, 40, 48]],
      ['visual', [1, 28, 28]],
    ]);
    expect(report.class_counts.train['7']).toBe(200);
    expect(report.corrupted_fraction).toBe(0.2);
    expect(report.corrupted.test).toEqual({ fraction: 0.2, kinds: { 'visual:occlusion': 50, 'visual:swap': 50 } });
    expect(lines[0]).toBe('dataset avdigits (avdigits)');
    const json = spawnSync(process.execPath, ['--import', hooks, main, 'avdigits', '--json', '--set', 'corruptFraction=0.1'], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout).corrupted_fraction).toBe(0.1);
    const bad = spawnSync(process.execPath, ['--import', hooks, main, 'nope:x'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/unknown dataset "nope:x"/);
  });

  it('reports skipped samples with file and line', async () => {
    const { root } = cremadFixture();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(`${root}/train.csv`, 'x_y_ZZZ_q,ZZZ\n');
    const r = await inspectDataset(`cremad:${root}`, { skipBadSamples: true });
    expect(r.skipped).toBe(1);
    expect(r.skipped_samples[0]).toMatchObject({ line: 13, reason: expect.stringMatching(/unknown label "ZZZ"/) });
    expect(formatReport(r)).toContain(`${root}/train.csv:13: unknown label "ZZZ"`);
  });
});
