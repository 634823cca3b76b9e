import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseKeyValue } from '../../src/cli/key-value.js';
import { resolveRunConfig } from '../../src/cli/resolve-config.js';
import { PURIFY_DEFAULTS } from '../../src/train/types.js';
import { DEFAULT_CONFIG } from '../../src/train/types.js';
import { runCli } from '../../src/cli/cli.js';
import { fakeTrainer } from './helpers/fake-trainer.js';
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
    expect(resolveRunConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it('lets a YAML file override defaults and flags override the file, option records key by key', () => {
    const cfg = file('a.yaml', 'epochs: 10\nwarmup: 2\nlr: 0.01\nmethodOptions:\n  beta: 2\n  kappa: 3\ndataOptions: { corruptFraction: 0.3 }\n');
    const c = resolveRunConfig({ config: cfg, epochs: 4, methodOpt: { kappa: 5 }, dataOpt: { seed: 1 } });
    expect(c.epochs).toBe(4);
    expect(c.warmup).toBe(2);
    expect(c.lr).toBe(0.01);
    expect(c.batchSize).toBe(DEFAULT_CONFIG.batchSize);
    expect(c.methodOptions).toEqual({ beta: 2, kappa: 5 });
    expect(c.dataOptions).toEqual({ corruptFraction: 0.3, seed: 1 });
  });

  it('reads JSON config files too', () => {
    const cfg = file('b.json', JSON.stringify({ method: 'joint', batchSize: 32, purify: true }));
    const c = resolveRunConfig({ config: cfg });
    expect(c.method).toBe('joint');
    expect(c.batchSize).toBe(32);
    expect(c.purify).toEqual(PURIFY_DEFAULTS);
  });

  it('merges purification: file object, flag values on top, --no-purify wins', () => {
    const cfg = file('p.yaml', 'purify:\n  tau: 0.3\n');
    expect(resolveRunConfig({ config: cfg }).purify).toEqual({ ...PURIFY_DEFAULTS, tau: 0.3 });
    expect(resolveRunConfig({ config: cfg, purifyEpochs: 2 }).purify).toEqual({ ...PURIFY_DEFAULTS, tau: 0.3, epochs: 2 });
    expect(resolveRunConfig({ purifyLoss: 'adaptive' }).purify).toEqual({ ...PURIFY_DEFAULTS, loss: 'adaptive' });
    expect(resolveRunConfig({ config: cfg, purify: false, purifyTau: 0.2 }).purify).toBeNull();
  });

  it('parses every RunConfig flag from the command line', async () => {
    const trainer = fakeTrainer();
    const io = memoryIo();
    const argv = ['train', '--data', 'avdigits', '--data-opt', 'corruptFraction=0.25', '--method', 'gmm-adaptive', '--method-opt', 'beta=2',
      '--encoder', 'resnet18', '--fusion', 'film', '--width', '8', '--epochs', '3', '--warmup', '1', '--batch-size', '16', '--optimizer', 'adamw',
      '--lr', '0.001', '--momentum', '0.5', '--weight-decay', '0', '--schedule', 'step', '--step-size', '2', '--step-gamma', '0.5', '--seed', '7',
      '--device', 'cuda:1', '--threads', '2', '--workers', '1', '--purify-tau', '0.4', '--purify-epochs', '2', '--purify-lr-factor', '0.2',
      '--purify-loss', 'adaptive', '--skip-bad-samples', '--out', join(dir, 'all-flags'), '--no-resume', '--json'];
    expect(await runCli(argv, io, async () => trainer)).toBe(0);
    expect(trainer.calls[0].config).toEqual({
      data: 'avdigits', dataOptions: { corruptFraction: 0.25 }, method: 'gmm-adaptive', methodOptions: { beta: 2 }, encoder: 'resnet18', fusion: 'film',
      width: 8, epochs: 3, warmup: 1, batchSize: 16, optimizer: 'adamw', lr: 0.001, momentum: 0.5, weightDecay: 0, schedule: 'step', stepSize: 2,
      gamma: 0.5, seed: 7, device: 'cuda:1', threads: 2, workers: 1, purify: { tau: 0.4, epochs: 2, lrFactor: 0.2, loss: 'adaptive' }, skipBadSamples: true,
    });
    expect(trainer.calls[0].opts).toMatchObject({ outDir: join(dir, 'all-flags'), resume: false });
  });
});
