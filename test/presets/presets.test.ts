// The reproduction presets (configs/*.yaml): each loads and validates for every method, and trains
// one step with its own encoders, frames, image size and recipe on a fixture in its dataset's
// community layout (a few clips; real ResNet18 encoders at 224 x 224).
import { spawnSync } from 'node:child_process';
import { appendFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/cli/config-file.js';
import { METHODS } from '../../src/methods/registry.js';
import { resolveConfig, type ConfigInput } from '../../src/train/config.js';
import { trainRun } from '../../src/train/run.js';
import type { RunConfig, TrainEvent } from '../../src/train/types.js';
import { writeNpy } from '../../src/data/io/npy.js';
import { frameFolder, put, tempDir, toneWav } from '../data/helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const preset = (name: string): ConfigInput => loadConfigFile(join(ROOT, 'configs', `${name}.yaml`));

/** CREMA-D with two of its classes (the fewest clips the 224 x 224 ResNet18s must see): 4 in train.csv, 1 in test.csv. */
function smallCremad(): string {
  const root = tempDir('cremad-preset');
  const train = ['1001_DFA_NEU_XX', '1002_DFA_HAP_XX', '1003_IEO_NEU_XX', '1004_IEO_HAP_XX'];
  const test = ['1005_TIE_HAP_XX'];
  [...train, ...test].forEach((id, i) => {
    put(join(root, 'AudioWAV', `${id}.wav`), toneWav(1.5, 16000, i));
    frameFolder(join(root, 'Image-01-FPS', id), 4, i);
  });
  put(join(root, 'train.csv'), train.map((id) => `${id},${id.split('_')[2]}\n`).join(''));
  put(join(root, 'test.csv'), test.map((id) => `${id},${id.split('_')[2]}\n`).join(''));
  return root;
}

/** Kinetics-Sounds with two classes: 4 clips in my_train.txt, 1 in my_test.txt; 1024 x 128 .npy fbanks, frame_00001.jpg ... */
function smallKs(): string {
  const root = tempDir('ks-preset');
  const rows = [['a1b2c3d4e5f_000010_000020', 'dog barking'], ['a1b2c3d4e5g_000000_000010', 'playing bagpipes'], ['a1b2c3d4e5h_000030_000040', 'dog barking'],
    ['a1b2c3d4e5i_000005_000015', 'playing bagpipes'], ['a1b2c3d4e5j_000001_000011', 'dog barking']];
  rows.forEach(([id], i) => {
    put(join(root, 'audio', `${id}.npy`), writeNpy(Float32Array.from({ length: 1024 * 128 }, (_, k) => Math.sin(k * (i + 1) * 1e-3)), [1024, 128]));
    frameFolder(join(root, 'frames', id!), 10, i, (k) => `frame_${String(k + 1).padStart(5, '0')}.jpg`);
  });
  put(join(root, 'my_train.txt'), rows.slice(0, 4).map(([id, label]) => `${id},10,${label}\n`).join(''));
  put(join(root, 'my_test.txt'), rows.slice(4).map(([id, label]) => `${id},10,${label}\n`).join(''));
  return root;
}

/** AVE: trainSet/valSet/testSet.txt ("Category&VideoID&Quality&Start&End"), wav audio, frame folders. */
function aveFixture(): string {
  const root = tempDir('ave-preset');
  const files = { train: 'trainSet.txt', val: 'valSet.txt', test: 'testSet.txt' };
  const rows: [string, keyof typeof files][] = [['Church bell', 'train'], ['Dog', 'train'], ['Church bell', 'val'], ['Dog', 'val'], ['Dog', 'test']];
  rows.forEach(([category, split], i) => {
    const id = `vid${i}AbC-x_`;
    appendFileSync(join(root, files[split]), `${category}&${id}&good&0&10\n`);
    put(join(root, 'Audio-1004-SE', `${id}.wav`), toneWav(2, 16000, i));
    frameFolder(join(root, 'Image-01-FPS-SE', id), 10, i);
  });
  return root;
}

/** Trains the preset for one epoch (one step: the training split is smaller than the preset's batch) with `method`. */
async function trainOneStep(input: ConfigInput, data: string, method: string, dataOptions: Record<string, unknown> = {}) {
  const outDir = tempDir('preset-run');
  const steps: number[] = [];
  const onEvent = (e: TrainEvent): void => { if (e.kind === 'step') steps.push(e.steps); };
  try {
    const summary = await trainRun({ ...input, data, method, epochs: 1, threads: 1, dataOptions: { ...input.dataOptions, ...dataOptions } }, { outDir, onEvent });
    const config = JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8')) as RunConfig;
    const metrics = readFileSync(join(outDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: Record<string, number> });
    // Two ResNet18s (11.2 M parameters each) in float32: far more than any small-CNN checkpoint.
    const checkpointBytes = statSync(join(outDir, 'checkpoints', 'last.safetensors')).size;
    return { summary, config, metrics, steps, checkpointBytes };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

describe('reproduction presets', () => {
  it.each(['cremad', 'ave', 'ks'])('%s: validates for every method; every per-method entry names a method and its own options', (name) => {
    const input = preset(name);
    expect(input.data).toBe(name);
    expect(Object.keys(input.perMethodOptions ?? {}).length).toBeGreaterThan(0);
    for (const m of METHODS) {
      const cfg = resolveConfig({ ...input, method: m.name }, METHODS);
      expect(cfg).toMatchObject({ encoder: 'resnet18', optimizer: 'sgd', lr: 0.001, batchSize: 64, schedule: 'step', stepSize: 30, epochs: 70 });
      const own = (input.perMethodOptions?.[m.name] ?? {}) as Record<string, unknown>;
      expect(cfg.methodOptions).toMatchObject(own);
      expect(cfg.perMethodOptions).toEqual({});
    }
  });

  it('the presets ship in the package and --config configs/NAME.yaml finds them from any directory', () => {
    const pack = spawnSync('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['configs/cremad.yaml', 'configs/ave.yaml', 'configs/ks.yaml']));
    const cwd = process.cwd();
    try {
      process.chdir(tempDir('elsewhere'));
      expect(loadConfigFile('configs/ks.yaml').data).toBe('ks');
      expect(() => loadConfigFile('configs/kinetics.yaml')).toThrow('config file configs/kinetics.yaml does not exist; check the --config path (the shipped presets: configs/cremad.yaml, configs/ave.yaml, configs/ks.yaml)');
    } finally {
      process.chdir(cwd);
    }
  });

  it('per-method options: a flag-level methodOptions wins over the preset entry; an unknown method or option is an error naming it', () => {
    const input = preset('cremad');
    expect(resolveConfig({ ...input, method: 'ogm-ge' }, METHODS).methodOptions).toMatchObject({ alpha: 0.3, modulationStarts: 10, modulationEnds: 80 });
    expect(resolveConfig({ ...input, method: 'ogm-ge', methodOptions: { alpha: 0.8 } }, METHODS).methodOptions).toMatchObject({ alpha: 0.8, modulationStarts: 10 });
    expect(() => resolveConfig({ ...input, method: 'joint', perMethodOptions: { 'ogm-gee': { alpha: 1 } } }, METHODS)).toThrow(/perMethodOptions names an unknown method "ogm-gee"/);
    expect(() => resolveConfig({ ...input, method: 'joint', perMethodOptions: { 'ogm-ge': { alpah: 1 } } }, METHODS)).toThrow(/ogm-ge: unknown option "alpah"/);
  });

  it('cremad: one step of the preset (2 frames of 224 x 224, 257 x 188 spectrogram, ResNet18s) with its OGM-GE settings', async () => {
    const r = await trainOneStep(preset('cremad'), `cremad:${smallCremad()}`, 'ogm-ge', { valFraction: 0.5 });
    expect(r.steps).toEqual([1]);
    expect(r.config).toMatchObject({ encoder: 'resnet18', batchSize: 64, dataOptions: { frames: 2, imageSize: 224, split: 'standard' }, methodOptions: { alpha: 0.3, modulationStarts: 10 } });
    expect(r.metrics[0]!.method).toHaveProperty('ratio_audio');
    expect(r.checkpointBytes).toBeGreaterThan(2 * 11e6 * 4);
    expect(r.summary.classes).toEqual(['NEU', 'HAP', 'SAD', 'FEA', 'DIS', 'ANG']);
  }, 120_000);

  it('ave: one step of the preset (3 frames, 257 x 1004 spectrogram from wav, ResNet18s)', async () => {
    const r = await trainOneStep(preset('ave'), `ave:${aveFixture()}`, 'pmr');
    expect(r.steps).toEqual([1]);
    expect(r.config).toMatchObject({ encoder: 'resnet18', dataOptions: { frames: 3, imageSize: 224 }, methodOptions: { alpha: 0.6, momentum: 0.2 } });
    expect(r.checkpointBytes).toBeGreaterThan(2 * 11e6 * 4);
    expect(r.summary.classes).toEqual(['Church bell', 'Dog']);
  }, 120_000);

  it('ks: one step of the preset (3 frames, 1024 x 128 fbank .npy, ResNet18s)', async () => {
    const r = await trainOneStep(preset('ks'), `ks:${smallKs()}`, 'joint', { valFraction: 0.5 });
    expect(r.steps).toEqual([1]);
    expect(r.config).toMatchObject({ encoder: 'resnet18', dataOptions: { frames: 3, imageSize: 224, audioDir: 'audio', framesDir: 'frames' } });
    expect(r.checkpointBytes).toBeGreaterThan(2 * 11e6 * 4);
    expect(r.summary.classes).toEqual(['dog barking', 'playing bagpipes']);
  }, 120_000);
});
