import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo } from './helpers/memory-io.js';
import { writeTinyDataset } from '../helpers/tiny-dataset.js';
import { writeRaggedDataset } from '../helpers/ragged-dataset.js';

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

  it('inspect reports each modality\'s kind and, for sequences and frames, the length distribution over every sample', async () => {
    const ragged = writeRaggedDataset({ vector: true });
    const r = await run(['data', 'inspect', '--data', `folder:${ragged}`, '--data-opt', 'mfcc.length=12', '--json']);
    expect(r.code).toBe(0);
    const mods = r.json().modalities as Record<string, unknown>[];
    expect(mods.map((m) => [m.name, m.kind])).toEqual([['emb', 'vector'], ['lips', 'frames'], ['mfcc', 'sequence']]);
    expect(mods[0]).toMatchObject({ shape: [10], length: null });
    expect(mods[1]).toMatchObject({ shape: [5, 1, 8, 8], length: { min: 2, max: 5 }, length_policy: { steps: 5, mask: true } });
    expect(mods[2]).toMatchObject({ shape: [12, 6], length: { min: 5, max: 20 }, length_policy: { steps: 12, crop: 'random', mask: true } });
    const median = (mods[2]!.length as { median: number }).median;
    const human = await run(['data', 'inspect', '--data', `folder:${ragged}`, '--data-opt', 'mfcc.length=12']);
    expect(human.io.out).toContain(`modality mfcc: sequence [12, 6]; steps per sample: min 5, median ${median}, max 20; batched as 12 steps (longer cropped: random in training, centre in evaluation; shorter zero-padded, padding masked)`);
  });

  it('inspect estimates each modality\'s activations per batch from the batch size, the padded length and the encoder', async () => {
    const ragged = writeRaggedDataset();
    const r = await run(['data', 'inspect', '--data', `folder:${ragged}`, '--data-opt', 'lips.length=4', '--batch-size', '32', '--json']);
    expect(r.code, r.io.err).toBe(0);
    const [lips, mfcc] = r.json().modalities as { name: string; activations: Record<string, unknown> }[];
    // lips: 4 frames (the length option) of 1 x 8 x 8 through small-cnn (16 channels); mfcc: padded to 20 steps through seq-cnn (64 units)
    expect(lips!.activations).toEqual({ batch_size: 32, encoder: 'small-cnn', shape: [32, 4, 16, 8, 8], axes: 'batch x frames x channels x H x W', layer_bytes: 4 * 32 * 4 * 16 * 64, bytes: 4 * 4 * 32 * 4 * 16 * 64 });
    expect(mfcc!.activations).toMatchObject({ encoder: 'seq-cnn', shape: [32, 20, 64] });
    const human = await run(['data', 'inspect', '--data', `folder:${ragged}`, '--width', '32']);
    expect(human.io.out).toContain('  batch 64 x 5 x 32 x 8 x 8 (batch x frames x channels x H x W, small-cnn\'s first layer): ~10 MB of activations per layer in training\n');
    const bad = await run(['data', 'inspect', '--data', `folder:${ragged}`, '--encoder', 'lips=gru']);
    expect(bad.code).toBe(2);
    expect(bad.io.err).toMatch(/encoder gru does not take.*; fix --encoder/);
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
