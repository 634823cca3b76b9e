import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo } from './helpers/memory-io.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-cli-data-'));
const good = join(dir, 'good');
writeTinyDataset(good);
const broken = join(dir, 'broken');
writeTinyDataset(broken);
writeFileSync(join(broken, 'visual', 'val-3.npy'), 'not an npy file');

async function run(argv: string[]) {
  const io = memoryIo();
  const code = await runCli(argv, io, async () => fakeTrainer());
  return { code, io, json: () => JSON.parse(io.out.trimEnd().split('\n').at(-1) as string) as Record<string, unknown> };
}

function countFiles(root: string): number {
  return readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.npy')).length;
}

describe('mmgap data', () => {
  it('inspect reports splits, shapes and classes', async () => {
    const r = await run(['data', 'inspect', '--data', `folder:${good}`, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ train: 60, val: 15, test: 15, classes: ['c0', 'c1', 'c2'], modalities: [{ name: 'audio', shape: [1, 12, 12] }, { name: 'visual', shape: [1, 12, 12] }] });
    const human = await run(['data', 'inspect', '--data', `folder:${good}`]);
    expect(human.io.out).toMatch(/^samples: train 60, val 15, test 15; 3 classes$/m);
  });

  it('verify loads every sample, and lists the bad ones with exit 1', async () => {
    const ok = await run(['data', 'verify', '--data', `folder:${good}`, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ ok: true, splits: { train: { loaded: 60, bad: [] }, test: { loaded: 15 } } });
    const bad = await run(['data', 'verify', '--data', `folder:${broken}`]);
    expect(bad.code).toBe(1);
    expect(bad.io.out).toMatch(/^val: 14 samples load, 1 bad$/m);
    expect(bad.io.out).toMatch(/^ {2}val val-3: .*val-3\.npy/m);
    expect(bad.io.out).toMatch(/1 bad samples: fix them, or train with --skip-bad-samples/);
  });

  it('prepare fills the feature cache once per sample and modality', async () => {
    const cache = join(dir, 'cache');
    const r = await run(['data', 'prepare', '--data', `folder:${good}`, '--cache-dir', cache, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ cacheDir: cache, samples: 90, bad: 0 });
    expect(countFiles(cache)).toBe(180);
    expect((await run(['data', 'prepare', '--data', `folder:${good}`, '--cache-dir', cache])).code).toBe(0);
    expect(countFiles(cache)).toBe(180);
  });

  it('a missing dataset folder is bad input', async () => {
    const r = await run(['data', 'verify', '--data', `folder:${join(dir, 'nope')}`]);
    expect(r.code).toBe(2);
    expect(r.io.err).toMatch(/dataset path .*nope does not exist/);
  });
});
