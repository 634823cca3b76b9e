import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKeyValue } from '../../src/cli/key-value.js';
import { resolveRunConfig } from '../../src/cli/resolve-config.js';
import { DEFAULT_CONFIG, PURIFY_DEFAULTS } from '../../src/train/config.js';
import { runCli } from '../../src/cli/cli.js';
import { FAKE_METHODS, fakeTrainer } from './helpers/fake-trainer.js';
import { memoryIo } from './helpers/memory-io.js';

const dir = mkdtempSync(join(tmpdir(), 'mmgap-cli-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('key=value options', () => {
  it('parses JSON values and keeps other text as strings', () => {
    expect(parseKeyValue('beta=0.5')).toEqual(['beta', 0.5]);
    expect(parseKeyValue('on=true')).toEqual(['on', true]);
    expect(parseKeyValue('kinds=["noise","silence"]')).toEqual(['kinds', ['noise', 'silence']]);
    expect(parseKeyValue('gmmOn=absolute')).toEqual(['gmmOn', 'absolute']);
    expect(parseKeyValue('expr=a=b')).toEqual(['expr', 'a=b']);
    expect(() => parseKeyValue('novalue')).toThrow(/key=value/);
  });
});

describe('config resolution: defaults < config file < flags', () => {
  it('uses DEFAULT_CONFIG when nothing is given', () => {
    // The method's options are filled with its declared defaults.
    expect(resolveRunConfig({}, FAKE_METHODS)).toEqual({ ...DEFAULT_CONFIG, methodOptions: { beta: 1, kappa: 1 } });
  });

  it('lets a YAML file override defaults and flags override the file, option records key by key', () => {
    const cfg = file('a.yaml', 'epochs: 10\nwarmup: 2\nlr: 0.01\nmethodOptions:\n  beta: 2\n  kappa: 3\ndataOptions: { corruptFraction: 0.3 }\n');
    const c = resolveRunConfig({ config: cfg, epochs: 4, methodOpt: { kappa: 5 }, dataOpt: { seed: 1 } }, FAKE_METHODS);
    expect(c.epochs).toBe(4);
    expect(c.warmup).toBe(2);
    expect(c.lr).toBe(0.01);
    expect(c.batchSize).toBe(DEFAULT_CONFIG.batchSize);
    expect(c.methodOptions).toEqual({ beta: 2, kappa: 5 });
    expect(c.dataOptions).toEqual({ corruptFraction: 0.3, seed: 1 });
  });

  it('reads JSON config files too', () => {
    const cfg = file('b.json', JSON.stringify({ method: 'joint', batchSize: 32, purify: true }));
    const c = resolveRunConfig({ config: cfg }, FAKE_METHODS);
    expect(c.method).toBe('joint');
    expect(c.batchSize).toBe(32);
    expect(c.purify).toEqual(PURIFY_DEFAULTS);
  });

  it('merges purification: file object, flag values on top, --no-purify wins', () => {
    const cfg = file('p.yaml', 'purify:\n  tau: 0.3\n');
    expect(resolveRunConfig({ config: cfg }, FAKE_METHODS).purify).toEqual({ ...PURIFY_DEFAULTS, tau: 0.3 });
    expect(resolveRunConfig({ config: cfg, purifyEpochs: 2 }, FAKE_METHODS).purify).toEqual({ ...PURIFY_DEFAULTS, tau: 0.3, epochs: 2 });
    expect(resolveRunConfig({ purifyLoss: 'method' }, FAKE_METHODS).purify).toEqual({ ...PURIFY_DEFAULTS, loss: 'method' });
    expect(resolveRunConfig({ config: cfg, purify: false, purifyTau: 0.2 }, FAKE_METHODS).purify).toBeNull();
  });

  it('parses every RunConfig flag from the command line', async () => {
    const trainer = fakeTrainer();
    const io = memoryIo();
    const argv = ['train', '--data', 'avdigits', '--data-opt', 'corruptFraction=0.25', '--method', 'gmm-adaptive', '--method-opt', 'beta=2',
      '--encoder', 'resnet18', '--fusion', 'film', '--width', '8', '--epochs', '3', '--min-steps', '50', '--warmup', '1', '--batch-size', '16', '--optimizer', 'adamw',
      '--lr', '0.001', '--momentum', '0.5', '--weight-decay', '0', '--schedule', 'step', '--step-size', '2', '--step-gamma', '0.5', '--seed', '7',
      '--device', 'cuda:1', '--threads', '2', '--workers', '1', '--purify-tau', '0.4', '--purify-epochs', '2', '--purify-lr-factor', '0.2',
      '--purify-loss', 'method', '--purify-keep', 'soft', '--purify-gmm-on', 'absolute', '--purify-params', 'head', '--purify-decide', 'always', '--purify-margin', '0.01', '--purify-max-drop', '0.5', '--skip-bad-samples', '--sync-batch-norm', '--tensorboard', join(dir, 'tb'), '--diagnose', 'selected', '--diagnose-gaps', 'raw', '--normalize', 'on', '--out', join(dir, 'all-flags'), '--no-resume', '--json'];
    expect(await runCli(argv, io, async () => trainer)).toBe(0);
    expect(trainer.calls[0].config).toEqual({
      data: 'avdigits', dataOptions: { corruptFraction: 0.25 }, method: 'gmm-adaptive', methodOptions: { beta: 2, kappa: 1 }, perMethodOptions: {}, encoder: 'resnet18', fusion: 'film',
      width: 8, epochs: 3, minSteps: 50, warmup: 1, batchSize: 16, optimizer: 'adamw', lr: 0.001, momentum: 0.5, weightDecay: 0, schedule: 'step', stepSize: 2,
      stepGamma: 0.5, seed: 7, device: 'cuda:1', threads: 2, workers: 1, skipBadSamples: true, diagnose: 'selected', diagnoseGaps: 'raw', normalize: 'on', precision: 'fp32', gapSource: 'eval-pass', syncBatchNorm: true, tensorboard: join(dir, 'tb'),
      purify: { keep: 'soft', tau: 0.4, gmmOn: 'absolute', epochs: 2, lrFactor: 0.2, params: 'head', loss: 'method', decide: 'always', margin: 0.01, maxDrop: 0.5 },
    });
    expect(trainer.calls[0].opts).toMatchObject({ outDir: join(dir, 'all-flags'), resume: false });
  });
});

describe('one validation for the library and the CLI', () => {
  it('rejects a wrong value with the same message from a flag, a config file and a library call', async () => {
    const { resolveConfig, ConfigError } = await import('../../src/train/config.js');
    const cases: { lib: Record<string, unknown>; argv: string[]; file: string; flag: string }[] = [
      { lib: { lr: 0 }, argv: ['--lr', '0'], file: 'lr: 0', flag: '--lr' },
      { lib: { warmup: 3, epochs: 3 }, argv: ['--warmup', '3', '--epochs', '3'], file: 'warmup: 3\nepochs: 3', flag: '--warmup' },
      { lib: { width: 2048 }, argv: ['--width', '2048'], file: 'width: 2048', flag: '--width' },
      { lib: { stepGamma: 2 }, argv: ['--step-gamma', '2'], file: 'stepGamma: 2', flag: '--step-gamma' },
      { lib: { purify: { tau: 0 } }, argv: ['--purify-tau', '0'], file: 'purify:\n  tau: 0', flag: '--purify-tau' },
      { lib: { methodOptions: { beta: -1 } }, argv: ['--method-opt', 'beta=-1'], file: 'methodOptions:\n  beta: -1', flag: '--method-opt' },
      { lib: { encoder: 'vit' }, argv: ['--encoder', 'vit'], file: 'encoder: vit', flag: '--encoder' },
    ];
    for (const c of cases) {
      let message = '';
      try {
        resolveConfig(c.lib, FAKE_METHODS);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        message = (e as Error).message;
      }
      expect(message, JSON.stringify(c.lib)).not.toBe('');
      for (const argv of [['train', ...c.argv], ['train', '--config', file(`bad-${c.flag.slice(2)}.yaml`, c.file)]]) {
        const io = memoryIo();
        expect(await runCli(argv, io, async () => fakeTrainer())).toBe(2);
        expect(io.err, argv.join(' ')).toContain(message);
        expect(io.err).toContain(c.flag);
      }
    }
  });
});

describe('resuming a stored config', () => {
  it('compares options whatever order they were stored in, and still names a changed one', async () => {
    const { resumeConflicts } = await import('../../src/train/config.js');
    const stored = { ...DEFAULT_CONFIG, methodOptions: { beta: 1, kappa: 0.5 } };
    const again = { ...DEFAULT_CONFIG, methodOptions: { kappa: 0.5, beta: 1 } };
    expect(resumeConflicts(stored, again)).toEqual([]);
    expect(resumeConflicts(stored, { ...again, methodOptions: { kappa: 0.5, beta: 2 } })).toEqual(['methodOptions']);
    expect(resumeConflicts(stored, { ...again, lr: DEFAULT_CONFIG.lr * 2 })).toEqual(['lr']);
  });
});
